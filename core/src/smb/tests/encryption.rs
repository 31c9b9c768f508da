//! Encryption (MS-SMB2 3.1.4.3, 3.3.4.1.4, 3.3.5.2.1.1, 3.3.5.2.9,
//! 3.3.5.2.11): sealed requests and replies, refusal of cleartext where
//! encryption is required, of clients that cannot encrypt, and of
//! undecryptable frames, which close the connection.

use super::limits::{ntlm_user_authenticate, security_buffer, setup_body};
use super::*;
use crate::config::User;
use crate::smb::cipher::{self, Cipher, SessionCipher};
use crate::smb::wire::negotiate::{
    DIALECT_300, DIALECT_302, ENCRYPTION_CAPABILITIES, NegotiateResponse, encryption_ciphers,
};
use crate::smb::wire::session_setup::{SESSION_FLAG_ENCRYPT_DATA, SHAREFLAG_ENCRYPT_DATA};
use crate::smb::wire::transform::{TRANSFORM_HEADER_LEN, TRANSFORM_PROTOCOL_ID, TransformHeader};

/// The client's side of an encrypted session: it seals with the server's
/// DecryptionKey and opens with its EncryptionKey.
struct Keys {
    server: SessionCipher,
    next_nonce: u64,
}

/// Capabilities without SMB2_GLOBAL_CAP_ENCRYPTION (LARGE_MTU only).
const NO_ENCRYPTION: u32 = 0x4;

fn negotiate(c: &mut Client, dialect: u16, capabilities: Option<u32>) -> Resp {
    let mut body = negotiate_body(&[dialect], false);
    if let Some(caps) = capabilities {
        body[8..12].copy_from_slice(&caps.to_le_bytes());
    }
    c.call(command::NEGOTIATE, &body)
}

/// alice logged on over `dialect` on a server with `cfg`; the final
/// SESSION_SETUP response and the session's keys (None when the
/// connection has no cipher).
fn login(mut cfg: Config, dialect: u16, capabilities: Option<u32>) -> (Client, Resp, Option<Keys>) {
    cfg.smb.users.push(User::new("alice", "Secret1"));
    let mut c = Client::with_config(cfg);
    assert_eq!(negotiate(&mut c, dialect, capabilities).status(), status::SUCCESS);
    let (r, keys) = log_on(&mut c, dialect);
    (c, r, keys)
}

/// A new session of alice on `c`'s connection (which negotiated
/// `dialect`); `c.session` becomes it.
fn log_on(c: &mut Client, dialect: u16) -> (Resp, Option<Keys>) {
    c.session = 0;
    let r = c.call(command::SESSION_SETUP, &setup_body(&ntlm_negotiate(), 1, 0));
    assert_eq!(r.status(), status::MORE_PROCESSING_REQUIRED);
    c.session = r.hdr.session_id;
    let (auth, session_key) = ntlm_user_authenticate(security_buffer(&r), "alice", "Secret1");
    let r = c.call(command::SESSION_SETUP, &setup_body(&auth, 1, 0));
    let keys = crate::smb::kdf::session_cipher(dialect, Cipher::Aes128Ccm, &session_key, None)
        .map(|server| Keys { server, next_nonce: 1 });
    (r, keys)
}

/// Sends `msg` (one message or a compound) sealed, or `tamper`ed at one
/// byte of the whole frame; returns the frames sent back, raw.
fn send_sealed(c: &mut Client, keys: &mut Keys, msg: &[u8], tamper: Option<usize>) -> Vec<Vec<u8>> {
    let mut nonce = [0u8; 16];
    nonce[..8].copy_from_slice(&keys.next_nonce.to_le_bytes());
    keys.next_nonce += 1;
    let mut m = msg.to_vec();
    let h = cipher::seal(&keys.server.decrypt, nonce, c.session, &mut m).unwrap();
    let mut frame = h.to_vec();
    frame.extend_from_slice(&m);
    if let Some(i) = tamper {
        frame[i] ^= 1;
    }
    send_frame(c, &frame)
}

fn send_frame(c: &mut Client, msg: &[u8]) -> Vec<Vec<u8>> {
    let mut framed = vec![0, (msg.len() >> 16) as u8, (msg.len() >> 8) as u8, msg.len() as u8];
    framed.extend_from_slice(msg);
    c.server.handle_input(c.conn, &framed, c.now);
    let mut out = Vec::new();
    while let Some(o) = c.server.poll_output_io_inline(c.now) {
        match o {
            Output::Transmit { data, .. } => out.push(data[4..].to_vec()),
            Output::Close { .. } => c.closed = true,
            Output::Io(_) => {}
        }
    }
    out
}

/// Decrypts one sealed reply with the server's EncryptionKey.
fn open_reply(keys: &Keys, frame: &[u8], session: u64) -> Vec<Resp> {
    assert_eq!(frame[..4], TRANSFORM_PROTOCOL_ID, "the reply is sealed");
    let h = TransformHeader::decode(frame).unwrap();
    assert_eq!(h.session_id, session);
    let mut f = frame.to_vec();
    cipher::unseal(&keys.server.encrypt, &mut f).expect("the reply decrypts with the session's key");
    let mut framed = vec![0; 4];
    framed.extend_from_slice(&f[TRANSFORM_HEADER_LEN..]);
    split(&framed)
}

/// One request sealed, its one reply opened.
fn sealed_call(c: &mut Client, keys: &mut Keys, cmd: u16, body: &[u8]) -> Resp {
    let mut m = raw_header(cmd, c.mid, c.session, c.tree, 0);
    c.mid += 1;
    m.extend_from_slice(body);
    let out = send_sealed(c, keys, &m, None);
    assert_eq!(out.len(), 1, "one reply");
    let mut r = open_reply(keys, &out[0], c.session);
    assert_eq!(r.len(), 1);
    r.remove(0)
}

/// One request in the clear; the status of its (sealed) reply.
fn clear_call(c: &mut Client, keys: &Keys, cmd: u16, body: &[u8]) -> u32 {
    let mut m = raw_header(cmd, c.mid, c.session, c.tree, 0);
    c.mid += 1;
    m.extend_from_slice(body);
    let out = send_frame(c, &m);
    assert_eq!(out.len(), 1, "one reply");
    open_reply(keys, &out[0], c.session)[0].status()
}

fn tree_connect_body() -> Vec<u8> {
    let p = utf16le("\\\\x\\share");
    let mut b = vec![9, 0, 0, 0, 72, 0];
    b.extend_from_slice(&(p.len() as u16).to_le_bytes());
    b.extend_from_slice(&p);
    b
}

fn require_encryption() -> Config {
    let mut cfg = Config::default();
    cfg.smb.require_encryption = true;
    cfg
}

fn encrypted_share() -> Config {
    let mut cfg = Config::default();
    cfg.smb.shares[0].encrypt = true;
    cfg
}

#[test]
fn an_encrypted_session_refuses_cleartext_and_answers_sealed() {
    for dialect in [DIALECT_300, DIALECT_302] {
        let (mut c, r, keys) = login(require_encryption(), dialect, None);
        let mut keys = keys.unwrap();
        assert_eq!(r.status(), status::SUCCESS);
        assert_eq!(u16_at(&r.body, 2).unwrap(), SESSION_FLAG_ENCRYPT_DATA, "SESSION_FLAG_ENCRYPT_DATA");
        // 3.3.5.2.9: in the clear, refused (the connection stays), and the
        // refusal is sealed like every reply on the session (as smbd does).
        assert_eq!(clear_call(&mut c, &keys, command::TREE_CONNECT, &tree_connect_body()), status::ACCESS_DENIED);
        assert!(!c.closed);
        let r = sealed_call(&mut c, &mut keys, command::TREE_CONNECT, &tree_connect_body());
        assert_eq!(r.status(), status::SUCCESS);
        c.tree = r.hdr.tree_id;
        let r = sealed_call(&mut c, &mut keys, command::CREATE, &create_body("f", RW, SHARE_ALL, 3, 0, &[]));
        assert_eq!(r.status(), status::SUCCESS);
        let fid = r.file_id();
        let data = pattern(65_536);
        let r = sealed_call(&mut c, &mut keys, command::WRITE, &write_body(fid, 0, &data));
        assert_eq!(r.status(), status::SUCCESS);
        // A large READ is framed and sealed by the storage worker.
        let r = sealed_call(&mut c, &mut keys, command::READ, &read_body(fid, 0, data.len() as u32));
        assert_eq!(r.status(), status::SUCCESS);
        let off = r.body[2] as usize - 64;
        assert_eq!(&r.body[off..off + data.len()], &data[..], "{dialect:#x}");
        assert_eq!(clear_call(&mut c, &keys, command::READ, &read_body(fid, 0, 10)), status::ACCESS_DENIED);
        // A re-authentication in the clear is refused too (its reply, a
        // SESSION_SETUP answering a cleartext request, is not sealed:
        // 3.3.4.1.4), and the session goes on.
        let mut m = raw_header(command::SESSION_SETUP, c.mid, c.session, 0, 0);
        c.mid += 1;
        m.extend_from_slice(&setup_body(&ntlm_negotiate(), 1, 0));
        let out = send_frame(&mut c, &m);
        assert_eq!(out.len(), 1);
        assert_eq!(split(&[&[0u8; 4][..], &out[0]].concat())[0].status(), status::ACCESS_DENIED, "{dialect:#x}");
        let r = sealed_call(&mut c, &mut keys, command::READ, &read_body(fid, 0, 10));
        assert_eq!(r.status(), status::SUCCESS, "the session is still there");
        // LOGOFF is answered sealed with the key of the session it ends.
        let r = sealed_call(&mut c, &mut keys, command::LOGOFF, &[4, 0, 0, 0]);
        assert_eq!(r.status(), status::SUCCESS);
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn undecryptable_frames_close_the_connection() {
    // Signature, nonce, size, flags, session id and ciphertext bytes.
    for at in [4, 20, 36, 42, 44, TRANSFORM_HEADER_LEN, TRANSFORM_HEADER_LEN + 67] {
        let (mut c, _, keys) = login(require_encryption(), DIALECT_300, None);
        let mut keys = keys.unwrap();
        let m = raw_header(command::ECHO, c.mid, c.session, 0, 0).into_iter().chain([4, 0, 0, 0]).collect::<Vec<_>>();
        let out = send_sealed(&mut c, &mut keys, &m, Some(at));
        assert!(out.is_empty() && c.closed, "byte {at}: nothing answered, the connection closed");
    }
    // A TRANSFORM naming no session, and one too short to hold a message.
    let (mut c, _, keys) = login(require_encryption(), DIALECT_300, None);
    let mut keys = keys.unwrap();
    c.session ^= 0x55;
    let m = raw_header(command::ECHO, 1, c.session, 0, 0).into_iter().chain([4, 0, 0, 0]).collect::<Vec<_>>();
    assert!(send_sealed(&mut c, &mut keys, &m, None).is_empty() && c.closed);
    let (mut c, _, _) = login(require_encryption(), DIALECT_300, None);
    assert!(send_frame(&mut c, &TransformHeader::default().encode()).is_empty() && c.closed);
}

#[test]
fn the_message_inside_must_belong_to_the_transform_session() {
    let (mut c, _, keys) = login(require_encryption(), DIALECT_300, None);
    let mut keys = keys.unwrap();
    let m = raw_header(command::ECHO, c.mid, c.session + 1, 0, 0).into_iter().chain([4, 0, 0, 0]).collect::<Vec<_>>();
    assert!(send_sealed(&mut c, &mut keys, &m, None).is_empty() && c.closed);
}

#[test]
fn a_compound_in_one_transform_is_answered_in_one() {
    let (mut c, _, keys) = login(require_encryption(), DIALECT_300, None);
    let mut keys = keys.unwrap();
    c.tree = sealed_call(&mut c, &mut keys, command::TREE_CONNECT, &tree_connect_body()).hdr.tree_id;
    let create = create_body("g", RW, SHARE_ALL, 3, 0, &[]);
    let close = close_body(FileId { persistent: u64::MAX, volatile: u64::MAX }, 0);
    let mut m = raw_header(command::CREATE, c.mid, c.session, c.tree, 0);
    m.extend_from_slice(&create);
    while m.len() % 8 != 0 {
        m.push(0);
    }
    let next = m.len() as u32;
    m[20..24].copy_from_slice(&next.to_le_bytes());
    m.extend_from_slice(&raw_header(command::CLOSE, c.mid + 1, c.session, c.tree, FLAG_RELATED));
    m.extend_from_slice(&close);
    c.mid += 2;
    let out = send_sealed(&mut c, &mut keys, &m, None);
    assert_eq!(out.len(), 1, "one sealed reply");
    let r = open_reply(&keys, &out[0], c.session);
    assert_eq!(r.iter().map(|r| (r.hdr.command, r.status())).collect::<Vec<_>>(), [
        (command::CREATE, status::SUCCESS),
        (command::CLOSE, status::SUCCESS)
    ]);
    assert!(r.iter().all(|r| !r.hdr.is_signed()), "sealed replies are not signed");
}

#[test]
fn an_encrypted_share_refuses_clients_that_cannot_encrypt_and_cleartext() {
    // SMB 3.0 without SMB2_GLOBAL_CAP_ENCRYPTION, and SMB 2.1: smbd answers
    // ACCESS_DENIED at TREE_CONNECT too.
    for (dialect, caps) in [(DIALECT_300, Some(NO_ENCRYPTION)), (0x0210, None)] {
        let (mut c, r, _) = login(encrypted_share(), dialect, caps);
        assert_eq!(r.status(), status::SUCCESS);
        assert_eq!(c.tree_connect("\\\\x\\share").status(), status::ACCESS_DENIED, "{dialect:#x}");
    }
    let (mut c, r, keys) = login(encrypted_share(), DIALECT_300, None);
    let mut keys = keys.unwrap();
    assert_eq!(u16_at(&r.body, 2).unwrap(), 0, "the session itself is not encrypted");
    // TREE_CONNECT may come in the clear; its reply tells the share's flag.
    let r = c.tree_connect("\\\\x\\share");
    assert_eq!(r.status(), status::SUCCESS);
    assert_eq!(u32_at(&r.body, 4).unwrap() & SHAREFLAG_ENCRYPT_DATA, SHAREFLAG_ENCRYPT_DATA);
    c.tree = r.hdr.tree_id;
    let create = create_body("f", RW, SHARE_ALL, 3, 0, &[]);
    assert_eq!(clear_call(&mut c, &keys, command::CREATE, &create), status::ACCESS_DENIED, "3.3.5.2.11");
    assert_eq!(sealed_call(&mut c, &mut keys, command::CREATE, &create).status(), status::SUCCESS);
}

#[test]
fn guests_cannot_log_on_where_encryption_is_required_nor_use_an_encrypted_share() {
    let mut c = Client::with_config(require_encryption());
    assert_eq!(negotiate(&mut c, DIALECT_300, None).status(), status::SUCCESS);
    let r = c.session_setup(&ntlm_negotiate());
    c.session = r.hdr.session_id;
    assert_eq!(c.session_setup(&ntlm_anonymous_authenticate()).status(), status::ACCESS_DENIED);
    assert!(c.server.smb_shared().sessions.is_empty());
    let mut c = Client::with_config(encrypted_share());
    c.login_anonymous();
    assert_eq!(c.tree_connect("\\\\x\\share").status(), status::ACCESS_DENIED);
}

#[test]
fn require_encryption_refuses_a_client_without_a_cipher_at_session_setup() {
    for (dialect, caps) in [(DIALECT_300, Some(NO_ENCRYPTION)), (0x0210, None)] {
        let mut c = Client::with_config(require_encryption());
        assert_eq!(negotiate(&mut c, dialect, caps).status(), status::SUCCESS);
        assert_eq!(c.session_setup(&ntlm_negotiate()).status(), status::ACCESS_DENIED, "{dialect:#x}");
    }
}

/// NEGOTIATE 3.1.1 offering `ciphers`: the cipher the server answers.
fn negotiated_cipher(ciphers: &[u16]) -> Vec<u16> {
    let mut c = Client::new();
    let mut body = negotiate_body(&[0x0311], true);
    // A third context after the two of negotiate_body.
    while (64 + body.len()) % 8 != 0 {
        body.push(0);
    }
    body[32] = 3;
    let mut data = (ciphers.len() as u16).to_le_bytes().to_vec();
    ciphers.iter().for_each(|id| data.extend_from_slice(&id.to_le_bytes()));
    body.extend_from_slice(&ENCRYPTION_CAPABILITIES.to_le_bytes());
    body.extend_from_slice(&(data.len() as u16).to_le_bytes());
    body.extend_from_slice(&[0; 4]);
    body.extend_from_slice(&data);
    let mut m = raw_header(command::NEGOTIATE, 0, 0, 0, 0);
    m.extend_from_slice(&body);
    let out = send_frame(&mut c, &m);
    let resp = NegotiateResponse::decode(&out[0]).unwrap();
    assert_eq!(resp.capabilities & 0x40, 0, "3.1.1 answers the context, not the capability");
    let ctx = resp.contexts.iter().find(|x| x.context_type == ENCRYPTION_CAPABILITIES).expect("answered");
    encryption_ciphers(&ctx.data).unwrap()
}

#[test]
fn the_cipher_is_the_first_of_the_clients_list() {
    assert_eq!(negotiated_cipher(&[4, 2, 1]), [4]);
    assert_eq!(negotiated_cipher(&[2, 4]), [2]);
    assert_eq!(negotiated_cipher(&[3]), [3]);
    assert_eq!(negotiated_cipher(&[9, 1]), [1]);
    assert_eq!(negotiated_cipher(&[9]), [0], "none shared: CipherId 0");
}

#[test]
fn smb30_advertises_encryption_only_to_clients_that_can() {
    let mut c = Client::new();
    let caps = |r: &Resp| u32_at(&r.body, 24).unwrap();
    assert_eq!(caps(&negotiate(&mut c, DIALECT_300, None)) & 0x40, 0x40);
    let mut c = Client::new();
    assert_eq!(caps(&negotiate(&mut c, DIALECT_302, Some(NO_ENCRYPTION))) & 0x40, 0);
}

#[test]
fn a_large_sealed_write_is_decrypted_by_a_worker_and_its_read_sealed_by_one() {
    let (mut c, _, keys) = login(require_encryption(), DIALECT_300, None);
    let mut keys = keys.unwrap();
    c.tree = sealed_call(&mut c, &mut keys, command::TREE_CONNECT, &tree_connect_body()).hdr.tree_id;
    let fid = sealed_call(&mut c, &mut keys, command::CREATE, &create_body("big", RW, SHARE_ALL, 5, 0, &[])).file_id();
    let data = pattern(100_000);
    let mut m = raw_header(command::WRITE, c.mid, c.session, c.tree, 0);
    m[6..8].copy_from_slice(&2u16.to_le_bytes());
    c.mid += 2;
    m.extend_from_slice(&write_body(fid, 0, &data));
    let mut nonce = [0u8; 16];
    nonce[..8].copy_from_slice(&keys.next_nonce.to_le_bytes());
    keys.next_nonce += 1;
    let h = cipher::seal(&keys.server.decrypt, nonce, c.session, &mut m).unwrap();
    let frame: Vec<u8> = h.iter().copied().chain(m).collect();
    // Step by step: the decryption is a request of its own, before the
    // WRITE's storage request exists.
    c.server.handle_frame(c.conn, frame.into(), c.now);
    let Some(Output::Io(unseal)) = c.server.poll_output() else { panic!("no decryption request") };
    assert!(matches!(unseal.op(), crate::io::IoOp::Decrypt { .. }));
    assert!(c.server.poll_output().is_none(), "nothing else before it is decrypted");
    c.server.handle_io(unseal.run(), c.now);
    let Some(Output::Io(store)) = c.server.poll_output() else { panic!("no write after decryption") };
    assert!(matches!(store.op(), crate::io::IoOp::Write { .. }));
    c.server.handle_io(store.run(), c.now);
    let Some(Output::Transmit { data: reply, .. }) = c.server.poll_output() else { panic!("no reply") };
    assert_eq!(open_reply(&keys, &reply[4..], c.session)[0].status(), status::SUCCESS);
    let object = c.server.smb_open(c.conn, fid).unwrap().0;
    assert_eq!(c.server.vfs().read(object, 0, 200_000).unwrap().0, data);

    // The READ: its storage request frames and seals the reply.
    let mut m = raw_header(command::READ, c.mid, c.session, c.tree, 0);
    m[6..8].copy_from_slice(&2u16.to_le_bytes());
    c.mid += 2;
    m.extend_from_slice(&read_body(fid, 0, data.len() as u32));
    let out = send_sealed(&mut c, &mut keys, &m, None);
    let r = open_reply(&keys, &out[0], c.session);
    let off = r[0].body[2] as usize - 64;
    assert_eq!(&r[0].body[off..off + data.len()], &data[..]);
}

/// Every message of `frames` sealed; what is inside, in order.
fn open_all(keys: &Keys, frames: &[Vec<u8>], session: u64) -> Vec<Resp> {
    frames.iter().flat_map(|f| open_reply(keys, f, session)).collect()
}

/// A request sealed; everything sent back, each frame opened.
fn sealed_send(c: &mut Client, keys: &mut Keys, cmd: u16, body: &[u8]) -> Vec<Resp> {
    let mut m = raw_header(cmd, c.mid, c.session, c.tree, 0);
    c.mid += 1;
    m.extend_from_slice(body);
    let out = send_sealed(c, keys, &m, None);
    open_all(keys, &out, c.session)
}

#[test]
fn breaks_interim_and_final_responses_of_an_encrypted_session_are_sealed() {
    let (mut c, _, keys) = login(require_encryption(), DIALECT_302, None);
    let mut keys = keys.unwrap();
    c.tree = sealed_call(&mut c, &mut keys, command::TREE_CONNECT, &tree_connect_body()).hdr.tree_id;
    let mut batch = create_body("f", RW, SHARE_ALL, 3, 0, &[]);
    batch[3] = 0x09; // SMB2_OPLOCK_LEVEL_BATCH
    let r = sealed_call(&mut c, &mut keys, command::CREATE, &batch);
    assert_eq!((r.status(), r.body[2]), (status::SUCCESS, 0x09), "a batch oplock");
    let fid = r.file_id();
    // A second open breaks it: the break notification and the interim
    // response come sealed.
    let got = sealed_send(&mut c, &mut keys, command::CREATE, &create_body("f", RW, SHARE_ALL, 1, 0, &[]));
    let cmds: Vec<(u16, u32)> = got.iter().map(|r| (r.hdr.command, r.status())).collect();
    assert_eq!(cmds, [(command::OPLOCK_BREAK, status::SUCCESS), (command::CREATE, status::PENDING)]);
    // The acknowledgement (sealed) lets the second open complete, sealed.
    let mut ack = Vec::new();
    let mut id = Vec::new();
    fid.encode(&mut id);
    crate::smb::wire::oplock_break::OplockBreak { level: 0, file_id: id.try_into().unwrap() }.encode(&mut ack);
    let got = sealed_send(&mut c, &mut keys, command::OPLOCK_BREAK, &ack);
    let cmds: Vec<(u16, u32)> = got.iter().map(|r| (r.hdr.command, r.status())).collect();
    assert!(cmds.contains(&(command::CREATE, status::SUCCESS)), "{cmds:?}");
    assert!(cmds.contains(&(command::OPLOCK_BREAK, status::SUCCESS)), "{cmds:?}");
}

#[test]
fn a_lease_break_is_sealed_with_the_key_of_the_session_holding_the_lease() {
    use super::lease::lease_ctx;
    // Two sessions on one connection, both on an encrypted share: one
    // session's open breaks the lease the other one's open holds. The
    // holder is the session with the higher SessionId, so that the first
    // encrypting session on the connection is not it.
    let (mut c, _, keys) = login(encrypted_share(), DIALECT_302, None);
    let mut a = (keys.unwrap(), c.session, 0);
    a.2 = sealed_call(&mut c, &mut a.0, command::TREE_CONNECT, &tree_connect_body()).hdr.tree_id;
    let (r, keys) = log_on(&mut c, DIALECT_302);
    assert_eq!(r.status(), status::SUCCESS);
    let mut b = (keys.unwrap(), c.session, 0);
    b.2 = sealed_call(&mut c, &mut b.0, command::TREE_CONNECT, &tree_connect_body()).hdr.tree_id;
    let (mut holder, mut other) = if a.1 > b.1 { (a, b) } else { (b, a) };

    (c.session, c.tree) = (holder.1, holder.2);
    let mut leased = create_body("f", RW, SHARE_ALL, 3, 0, &lease_ctx([7; 16], 0x7, None));
    leased[3] = 0xFF; // SMB2_OPLOCK_LEVEL_LEASE
    let r = sealed_call(&mut c, &mut holder.0, command::CREATE, &leased);
    assert_eq!((r.status(), r.body[2]), (status::SUCCESS, 0xFF), "a lease");

    (c.session, c.tree) = (other.1, other.2);
    let mut m = raw_header(command::CREATE, c.mid, c.session, c.tree, 0);
    c.mid += 1;
    m.extend_from_slice(&create_body("f", RW, SHARE_ALL, 1, 0, &[]));
    let out = send_sealed(&mut c, &mut other.0, &m, None);
    // The break (SessionId 0 inside) is sealed for the lease's session,
    // and opens with that session's key; the interim reply to the CREATE
    // is sealed for the session that sent it.
    let mut got = Vec::new();
    for frame in &out {
        let sid = TransformHeader::decode(frame).unwrap().session_id;
        let keys = if sid == holder.1 { &holder.0 } else { &other.0 };
        for r in open_reply(keys, frame, sid) {
            got.push((sid, r.hdr.command, r.hdr.session_id, r.status()));
        }
    }
    assert!(got.contains(&(holder.1, command::OPLOCK_BREAK, 0, status::SUCCESS)), "{got:?}");
    assert!(got.contains(&(other.1, command::CREATE, other.1, status::PENDING)), "{got:?}");
}
