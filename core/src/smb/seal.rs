//! Encryption on an SMB connection: which messages are sealed and with
//! which session's key (MS-SMB2 3.3.4.1.4), the nonce each takes, and
//! unsealing a TRANSFORM request before it is dispatched (3.3.5.2.1.1).

use bytes::{Bytes, BytesMut};

use super::cipher::{self, CipherKey};
use super::SmbShared;
use super::conn::Session;
use crate::id::ConnId;
use crate::lease::OpenId;
use super::wire::header::command;
use super::wire::transform::TRANSFORM_HEADER_LEN;

/// What a message is sealed with: its session's EncryptionKey, a nonce
/// taken from that session's counter, and the SessionId of the
/// TRANSFORM_HEADER.
#[derive(Debug, Clone)]
pub struct Seal {
    pub key: CipherKey,
    pub nonce: [u8; 16],
    pub session_id: u64,
}

impl Seal {
    /// Encrypts `msg` in place; the TRANSFORM_HEADER to put in front.
    pub fn apply(&self, msg: &mut [u8]) -> Option<[u8; TRANSFORM_HEADER_LEN]> {
        cipher::seal(&self.key, self.nonce, self.session_id, msg)
    }

    /// `msg` sealed, behind its TRANSFORM_HEADER.
    pub fn to_vec(&self, msg: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(TRANSFORM_HEADER_LEN + msg.len());
        out.extend_from_slice(&[0; TRANSFORM_HEADER_LEN]);
        out.extend_from_slice(msg);
        let header = self.apply(out.get_mut(TRANSFORM_HEADER_LEN..)?)?;
        out.get_mut(..TRANSFORM_HEADER_LEN)?.copy_from_slice(&header);
        Some(out)
    }
}

/// A seal with a fresh nonce of session `session_id`, if it has keys.
pub fn take_seal(smb: &mut SmbShared, session_id: u64) -> Option<Seal> {
    let c = smb.sessions.get_mut(&session_id)?.cipher.as_mut()?;
    let nonce = c.next_nonce()?;
    Some(Seal { key: c.encrypt.clone(), nonce, session_id })
}

/// Whether the session, or the tree `tree_id` of it, requires encryption.
pub fn requires_encryption(session: &Session, tree_id: u32) -> bool {
    session.encrypt_data || session.trees.get(&tree_id).is_some_and(|t| t.encrypt_data)
}

/// MS-SMB2 3.3.4.1.4: a response is sealed when its request came sealed
/// (`encrypted`: the TRANSFORM_HEADER's SessionId), when its session is
/// encrypted (not NEGOTIATE or SESSION_SETUP), or when its tree's share is
/// (nor TREE_CONNECT).
pub fn response_seal(
    smb: &mut SmbShared,
    conn: ConnId,
    encrypted: Option<u64>,
    cmd: u16,
    session_id: u64,
    tree_id: u32,
) -> Option<Seal> {
    if let Some(sid) = encrypted {
        return take_seal(smb, sid);
    }
    let session = smb.session(conn, session_id)?;
    let wanted = match cmd {
        command::NEGOTIATE | command::SESSION_SETUP => false,
        command::TREE_CONNECT => session.encrypt_data,
        _ => requires_encryption(session, tree_id),
    };
    if wanted { take_seal(smb, session_id) } else { None }
}

/// The seal of an unsolicited message (a break notification) sent on
/// `conn`: sealed when its session, or one of that session's trees,
/// requires encryption. An oplock break names its session (`session_id`).
/// A lease break names none (SessionId 0, MS-SMB2 3.3.4.7), and
/// 3.3.4.1.4 keys encryption on a session, so it takes the key of the
/// session that made the most recent of the lease's `lease_opens` bound to
/// `conn` and requiring encryption (on the open's tree or its whole
/// session); failing that, of any session on `conn` that requires it,
/// so that a connection carrying an encrypted session sends no break in
/// the clear.
pub fn unsolicited_seal(smb: &mut SmbShared, conn: ConnId, session_id: u64, lease_opens: &[OpenId]) -> Option<Seal> {
    let sid = match session_id {
        0 => lease_owner_session(smb, conn, lease_opens)
            .or_else(|| smb.sessions.values().find(|s| s.on(conn) && s.cipher.is_some() && requires_any(s)).map(|s| s.id))?,
        sid => sid,
    };
    if requires_any(smb.sessions.get(&sid)?) { take_seal(smb, sid) } else { None }
}

/// The session of the first of `opens` whose session is bound to `conn`,
/// has keys, and requires encryption for that open.
fn lease_owner_session(smb: &SmbShared, conn: ConnId, opens: &[OpenId]) -> Option<u64> {
    opens.iter().filter_map(|o| smb.open_refs.get(o)).find_map(|r| {
        let s = smb.sessions.get(&r.session_id).filter(|s| s.on(conn) && s.cipher.is_some())?;
        let tree = s.opens.get(&r.file_id.volatile)?.tree_id;
        requires_encryption(s, tree).then_some(s.id)
    })
}

fn requires_any(s: &Session) -> bool {
    s.encrypt_data || s.trees.values().any(|t| t.encrypt_data)
}

/// TRANSFORM messages at least this large are decrypted on a storage
/// worker (`IoOp::Decrypt`) rather than on the core's thread.
pub const UNSEAL_OFF_CORE: usize = 64 * 1024;

/// The decryption of one large TRANSFORM message, run by a worker. Its
/// Debug form leaves the key out.
#[derive(Debug)]
pub struct Unseal {
    pub key: CipherKey,
}

impl crate::io::MessageTransform for Unseal {
    fn apply(&self, message: Bytes) -> Option<Bytes> {
        unseal_with(&self.key, message)
    }
}

/// The session a TRANSFORM message names and its DecryptionKey; None
/// closes the connection (no such session, a guest or anonymous one, a
/// malformed header).
pub fn transform_key(smb: &SmbShared, conn: ConnId, frame: &[u8]) -> Option<(u64, CipherKey)> {
    let h = cipher::transform_header(frame).ok()?;
    let session = smb.session(conn, h.session_id)?;
    if session.is_guest_or_anonymous() {
        return None;
    }
    Some((h.session_id, session.cipher.as_ref()?.decrypt.clone()))
}

/// Decrypts in place when the frame is not shared; the SMB2 message inside.
fn unseal_with(key: &CipherKey, frame: Bytes) -> Option<Bytes> {
    let mut buf = frame.try_into_mut().unwrap_or_else(|shared| BytesMut::from(&shared[..]));
    cipher::unseal(key, &mut buf).ok()?;
    Some(buf.freeze().slice(TRANSFORM_HEADER_LEN..))
}

/// MS-SMB2 3.3.5.2.1.1: a TRANSFORM message decrypted with its session's
/// DecryptionKey, in place when the frame is not shared. Returns the
/// session it names and the SMB2 message inside; None closes the
/// connection (no such session, a guest or anonymous one, a bad header or
/// tag).
pub fn unseal_request(smb: &SmbShared, conn: ConnId, frame: Bytes) -> Option<(u64, Bytes)> {
    let (sid, key) = transform_key(smb, conn, &frame)?;
    match unseal_with(&key, frame) {
        Some(plain) => Some((sid, plain)),
        None => {
            tracing::info!(conn = conn.0, "undecryptable message; closing");
            None
        }
    }
}
