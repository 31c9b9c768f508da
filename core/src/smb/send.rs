//! Sending responses: one response [`Element`], compounding, signing and
//! the preauth hash of a reply ([`flush`]), and completing a parked
//! request with an error ([`complete_pending`]).

use super::SmbShared;
use super::conn::SmbConnection;
use super::ctx::PreauthTarget;
use super::seal::{Seal, response_seal};
use super::signing;
use super::status;
use super::wire::codec::to_vec;
use super::wire::error::encode_error_response;
use super::wire::header::{FLAG_ASYNC, FLAG_RELATED, FLAG_SERVER_TO_REDIR, HEADER_LEN, Header};
use crate::common::Core;
use crate::id::Protocol;

/// One response of a (possibly compounded) reply.
#[derive(Debug)]
pub(super) struct Element {
    pub(super) header: Header,
    pub(super) body: Vec<u8>,
    pub(super) sign: Option<(signing::SigningAlgorithm, [u8; 16])>,
    pub(super) preauth: PreauthTarget,
    /// Sealed with this (MS-SMB2 3.3.4.1.4): the whole reply is, once.
    pub(super) seal: Option<Seal>,
}

/// MS-SMB2 3.3.4.1.1: a response is signed with the key of its session's
/// channel on `conn` (Channel.SigningKey) when the request was signed or
/// the session requires signing (or `force`).
pub(super) fn session_signing(
    smb: &SmbShared,
    conn: &SmbConnection,
    req: &Header,
    session_id: u64,
    force: bool,
) -> Option<(signing::SigningAlgorithm, [u8; 16])> {
    let session = smb.sessions.get(&session_id)?;
    let sign = match session.channel_key(conn.id) {
        Some(key) => (conn.signing, key),
        // Not a channel of the session here (a binding that failed or is
        // in progress): a signed request's error is signed with
        // Session.SigningKey, which the client can check (smbd does the
        // same, Samba bug 14512).
        None if req.is_signed() => (session.signing, session.signing_key?),
        None => return None,
    };
    (req.is_signed() || session.signing_required || force).then_some(sign)
}

/// Completes a parked request with `status` and an error body (CANCEL); the
/// related elements waiting for it fail with the same status
/// (MS-SMB2 3.3.5.2.7.2).
pub(crate) fn complete_pending(core: &mut Core, smb: &mut SmbShared, conn: &mut SmbConnection, op: u64, status: u32) {
    let Some(p) = conn.pending.remove(&op) else { return };
    core.leases.cancel_waiter(crate::id::WaitToken { conn: conn.id, op });
    core.io.cancel_waiter(crate::id::WaitToken { conn: conn.id, op });
    let first = (p.async_id, p.header);
    let out = std::iter::once(first)
        .chain(p.followers.iter().map(|f| (f.async_id, f.header)))
        .map(|(async_id, req)| {
            let rh = Header {
                credit_charge: req.credit_charge,
                status,
                command: req.command,
                credits: 0,
                flags: FLAG_SERVER_TO_REDIR | FLAG_ASYNC | (req.flags & FLAG_RELATED),
                next_command: 0,
                message_id: req.message_id,
                async_id,
                tree_id: 0,
                session_id: req.session_id,
                signature: [0; 16],
            };
            let sign = session_signing(smb, conn, &req, req.session_id, false);
            let seal = response_seal(smb, conn.id, p.encrypted, req.command, req.session_id, req.tree_id);
            Element { header: rh, body: to_vec(encode_error_response), sign, preauth: PreauthTarget::None, seal }
        })
        .collect::<Vec<_>>();
    flush(core, smb, conn, out);
}

/// Compounds, signs and sends the responses of one request frame.
pub(super) fn flush(core: &mut Core, smb: &mut SmbShared, conn: &mut SmbConnection, elements: Vec<Element>) {
    if elements.is_empty() {
        return;
    }
    let n = elements.len();
    for e in elements.iter().filter(|e| e.header.status != status::PENDING) {
        core.request_done(conn.id, Protocol::Smb, e.header.message_id);
    }
    // One TRANSFORM_HEADER over the whole compound; nothing in it is signed.
    let seal = elements.iter().find_map(|e| e.seal.clone());
    let mut buf = Vec::new();
    let mut spans = Vec::with_capacity(n);
    for (i, mut e) in elements.into_iter().enumerate() {
        let start = buf.len();
        buf.reserve(HEADER_LEN + e.body.len() + 7);
        e.header.encode(&mut buf);
        buf.extend_from_slice(&e.body);
        if i + 1 < n {
            while (buf.len() - start) % 8 != 0 {
                buf.push(0);
            }
            e.header.next_command = (buf.len() - start) as u32;
            super::wire::codec::patch_u32(&mut buf, start + 20, e.header.next_command);
        }
        spans.push((start, buf.len(), e.sign, e.preauth));
    }
    for (start, end, sign, preauth) in spans {
        let Some(slice) = buf.get_mut(start..end) else { continue };
        if let (Some((algo, key)), None) = (sign, &seal) {
            signing::sign(algo, &key, slice);
        }
        match preauth {
            PreauthTarget::None => {}
            PreauthTarget::Connection => {
                if let Some(p) = conn.preauth.as_mut() {
                    p.update(slice);
                }
            }
            PreauthTarget::Session(id) => {
                if let Some(p) = smb.sessions.get_mut(&id).and_then(|s| s.preauth.as_mut()) {
                    p.update(slice);
                }
            }
            PreauthTarget::Binding(id) => {
                let binding = smb.sessions.get_mut(&id).and_then(|s| s.channels.get_mut(&conn.id));
                if let Some(p) = binding.and_then(|c| c.binding.as_mut()).and_then(|b| b.preauth.as_mut()) {
                    p.update(slice);
                }
            }
        }
    }
    match seal {
        None => core.send(conn.id, Protocol::Smb, &buf),
        Some(seal) => match seal.to_vec(&buf) {
            Some(sealed) => core.send(conn.id, Protocol::Smb, &sealed),
            // Never sent in the clear: the connection closes instead.
            None => core.close_requests.push(conn.id),
        },
    }
}
