//! Multichannel (MS-SMB2 3.3.5.5 binding, 3.3.1.8 Channel, 3.3.7.1): a
//! session bound to a second connection is usable there with that
//! channel's own signing key; it outlives its first connection and ends
//! with its last channel or a LOGOFF on any; each refusal of 3.3.5.5 has its
//! status and leaves the session as it was.

use super::limits::{SIGNING_ENABLED, login_alice, ntlm_user_authenticate, security_buffer, setup_body, signed_call};
use super::*;
use crate::config::User;
use crate::smb::wire::header::FLAG_SIGNED;
use crate::smb::wire::negotiate::CAP_MULTI_CHANNEL;

/// Another connection of the client: its ConnId and next MessageId.
struct Chan {
    conn: ConnId,
    mid: u64,
}

/// Runs `f` on channel `ch` of client `c` (the client's own connection is
/// swapped out meanwhile).
fn on<R>(c: &mut Client, ch: &mut Chan, f: impl FnOnce(&mut Client) -> R) -> R {
    std::mem::swap(&mut c.conn, &mut ch.conn);
    std::mem::swap(&mut c.mid, &mut ch.mid);
    let r = f(c);
    std::mem::swap(&mut c.conn, &mut ch.conn);
    std::mem::swap(&mut c.mid, &mut ch.mid);
    r
}

/// A new connection of the same client (same ClientGuid) that negotiated
/// `dialect`; the NEGOTIATE response's capabilities.
fn connect(c: &mut Client, dialect: u16) -> (Chan, u32) {
    let peer: SocketAddr = "127.0.0.1:50001".parse().unwrap();
    let conn = c.server.accept(Protocol::Smb, peer, c.now).unwrap();
    let mut ch = Chan { conn, mid: 0 };
    let session = std::mem::take(&mut c.session);
    let r = on(c, &mut ch, |c| c.call(command::NEGOTIATE, &negotiate_body(&[dialect], false)));
    c.session = session;
    assert_eq!(r.status(), status::SUCCESS);
    (ch, u32_at(&r.body, 24).unwrap())
}

/// A SESSION_SETUP body with SMB2_SESSION_FLAG_BINDING.
fn bind_body(token: &[u8]) -> Vec<u8> {
    let mut b = setup_body(token, SIGNING_ENABLED, 0);
    b[2] = 1;
    b
}

/// Binds the client's session to `ch` as `user`/`password`, every leg
/// signed with `key`; the final response and the channel's signing key.
fn bind_as(c: &mut Client, ch: &mut Chan, key: &[u8; 16], user: &str, password: &str) -> (Resp, [u8; 16]) {
    on(c, ch, |c| {
        let r = signed_call(c, key, command::SESSION_SETUP, &bind_body(&ntlm_negotiate()), 1, false);
        assert_eq!(r.status(), status::MORE_PROCESSING_REQUIRED);
        assert_ne!(r.hdr.flags & FLAG_SIGNED, 0, "3.3.5.5.3: the interim binding response is signed");
        let (auth, base) = ntlm_user_authenticate(security_buffer(&r), user, password);
        let r = signed_call(c, key, command::SESSION_SETUP, &bind_body(&auth), 1, false);
        (r, crate::smb::kdf::signing_key(0x0300, &base, None))
    })
}

fn tree_connect_body() -> Vec<u8> {
    let p = utf16le("\\\\x\\share");
    let mut b = vec![9, 0, 0, 0, 72, 0];
    b.extend_from_slice(&(p.len() as u16).to_le_bytes());
    b.extend_from_slice(&p);
    b
}

/// alice (dialect 3.0, signing) with the share connected and `f` open on
/// the first connection; the session's signing key and the open.
fn alice_with_open(cfg: Config) -> (Client, [u8; 16], FileId) {
    let (mut c, key) = login_alice(cfg, SIGNING_ENABLED);
    let r = signed_call(&mut c, &key, command::TREE_CONNECT, &tree_connect_body(), 1, false);
    assert_eq!(r.status(), status::SUCCESS);
    c.tree = r.hdr.tree_id;
    let body = create_body("f", RW, SHARE_ALL, disposition::OPEN_IF, 0, &[]);
    let r = signed_call(&mut c, &key, command::CREATE, &body, 1, false);
    assert_eq!(r.status(), status::SUCCESS);
    (c, key, r.file_id())
}

fn query(c: &mut Client, key: &[u8; 16], fid: FileId) -> u32 {
    signed_call(c, key, command::QUERY_INFO, &query_info_body(fid, 1, 5), 1, false).status()
}

#[test]
fn a_bound_channel_uses_the_file_id_opened_on_the_first_with_its_own_key() {
    let (mut c, key, fid) = alice_with_open(Config::default());
    let (mut ch, caps) = connect(&mut c, 0x0300);
    assert_ne!(caps & CAP_MULTI_CHANNEL, 0, "3.x offers SMB2_GLOBAL_CAP_MULTI_CHANNEL");
    let (r, channel_key) = bind_as(&mut c, &mut ch, &key, "alice", "Secret1");
    assert_eq!(r.status(), status::SUCCESS);
    assert_eq!(r.hdr.session_id, c.session);
    assert_ne!(channel_key, key, "the channel's key comes from its own authentication");
    // The tree and the open of the first connection answer on the second,
    // signed with the channel's key; the session's key is not it there.
    assert_eq!(on(&mut c, &mut ch, |c| query(c, &channel_key, fid)), status::SUCCESS);
    assert_eq!(on(&mut c, &mut ch, |c| query(c, &key, fid)), status::ACCESS_DENIED);
    // And on the first, still with the session's key.
    assert_eq!(query(&mut c, &key, fid), status::SUCCESS);
    let snap = c.server.snapshot();
    let channels: Vec<u64> = snap.sessions.iter().flat_map(|s| s.channels.iter().map(|ch| ch.conn)).collect();
    assert_eq!(channels, vec![c.conn.0, ch.conn.0], "the snapshot shows both channels");
}

#[test]
fn the_session_and_its_open_survive_the_loss_of_the_first_connection() {
    let (mut c, key, fid) = alice_with_open(Config::default());
    let (mut ch, _) = connect(&mut c, 0x0300);
    let (_, channel_key) = bind_as(&mut c, &mut ch, &key, "alice", "Secret1");
    let first = c.conn;
    c.server.handle_closed(first, c.now);
    assert_eq!(c.server.smb_shared().files.len(), 1, "the open is still there");
    assert_eq!(on(&mut c, &mut ch, |c| query(c, &channel_key, fid)), status::SUCCESS);
    let snap = c.server.snapshot();
    assert_eq!(snap.sessions.len(), 1);
    assert_eq!(snap.sessions[0].conn, ch.conn.0, "Session.Connection moved to the channel left");
}

#[test]
fn the_session_ends_with_its_last_channel() {
    let (mut c, key, _) = alice_with_open(Config::default());
    let (mut ch, _) = connect(&mut c, 0x0300);
    bind_as(&mut c, &mut ch, &key, "alice", "Secret1");
    c.server.handle_closed(ch.conn, c.now);
    assert!(c.server.smb_shared().sessions.contains_key(&c.session));
    let first = c.conn;
    c.server.handle_closed(first, c.now);
    assert!(c.server.smb_shared().sessions.is_empty());
    assert!(c.server.smb_shared().files.is_empty(), "its open was closed");
}

#[test]
fn logoff_on_one_channel_ends_the_session_on_every_channel() {
    let (mut c, key, fid) = alice_with_open(Config::default());
    let (mut ch, _) = connect(&mut c, 0x0300);
    let (_, channel_key) = bind_as(&mut c, &mut ch, &key, "alice", "Secret1");
    let r = on(&mut c, &mut ch, |c| signed_call(c, &channel_key, command::LOGOFF, &[4, 0, 0, 0], 1, false));
    assert_eq!(r.status(), status::SUCCESS);
    assert_eq!(query(&mut c, &key, fid), status::USER_SESSION_DELETED);
    assert!(c.server.smb_shared().files.is_empty());
}

#[test]
fn binding_a_2x_connection_or_with_multichannel_off_is_not_accepted() {
    let (mut c, key, _) = alice_with_open(Config::default());
    let (mut ch, caps) = connect(&mut c, 0x0210);
    assert_eq!(caps & CAP_MULTI_CHANNEL, 0);
    let r = on(&mut c, &mut ch, |c| signed_call(c, &key, command::SESSION_SETUP, &bind_body(&ntlm_negotiate()), 1, false));
    assert_eq!(r.status(), status::REQUEST_NOT_ACCEPTED);

    let mut cfg = Config::default();
    cfg.smb.multichannel = false;
    let (mut c, key, _) = alice_with_open(cfg);
    let (mut ch, caps) = connect(&mut c, 0x0300);
    assert_eq!(caps & CAP_MULTI_CHANNEL, 0, "not offered when off");
    let r = on(&mut c, &mut ch, |c| signed_call(c, &key, command::SESSION_SETUP, &bind_body(&ntlm_negotiate()), 1, false));
    assert_eq!(r.status(), status::REQUEST_NOT_ACCEPTED);
}

#[test]
fn a_binding_refused_by_3_3_5_5_leaves_the_session_alone() {
    let (mut c, key, fid) = alice_with_open(Config::default());
    // Another dialect than the session's connection.
    let (mut ch, _) = connect(&mut c, 0x0302);
    let r = on(&mut c, &mut ch, |c| signed_call(c, &key, command::SESSION_SETUP, &bind_body(&ntlm_negotiate()), 1, false));
    assert_eq!(r.status(), status::INVALID_PARAMETER);
    let (mut ch, _) = connect(&mut c, 0x0300);
    // Unsigned.
    let r = on(&mut c, &mut ch, |c| c.call(command::SESSION_SETUP, &bind_body(&ntlm_negotiate())));
    assert_eq!(r.status(), status::INVALID_PARAMETER);
    // Signed with another key than Session.SigningKey.
    let r = on(&mut c, &mut ch, |c| signed_call(c, &[7; 16], command::SESSION_SETUP, &bind_body(&ntlm_negotiate()), 1, false));
    assert_eq!(r.status(), status::ACCESS_DENIED);
    // On a connection that already is a channel of the session.
    let r = signed_call(&mut c, &key, command::SESSION_SETUP, &bind_body(&ntlm_negotiate()), 1, false);
    assert_eq!(r.status(), status::REQUEST_NOT_ACCEPTED);
    // A SessionId that does not exist.
    let session = std::mem::replace(&mut c.session, 0x1234);
    let r = on(&mut c, &mut ch, |c| signed_call(c, &key, command::SESSION_SETUP, &bind_body(&ntlm_negotiate()), 1, false));
    assert_eq!(r.status(), status::USER_SESSION_DELETED);
    c.session = session;
    assert_eq!(query(&mut c, &key, fid), status::SUCCESS, "the session goes on");
}

#[test]
fn a_binding_must_authenticate_the_sessions_user() {
    let mut cfg = Config::default();
    cfg.smb.users.push(User::new("bob", "Other2"));
    let (mut c, key, fid) = alice_with_open(cfg);
    let (mut ch, _) = connect(&mut c, 0x0300);
    let (r, _) = bind_as(&mut c, &mut ch, &key, "bob", "Other2");
    assert_eq!(r.status(), status::ACCESS_DENIED, "3.3.5.5: another user (smbd's status)");
    let (r, _) = bind_as(&mut c, &mut ch, &key, "alice", "wrong");
    assert_eq!(r.status(), status::LOGON_FAILURE);
    // Neither bound the channel nor ended the session.
    assert_eq!(on(&mut c, &mut ch, |c| query(c, &key, fid)), status::USER_SESSION_DELETED);
    assert_eq!(query(&mut c, &key, fid), status::SUCCESS);
    let (r, _) = bind_as(&mut c, &mut ch, &key, "alice", "Secret1");
    assert_eq!(r.status(), status::SUCCESS, "a later binding with the right user succeeds");
}

#[test]
fn a_guest_session_cannot_be_bound() {
    let mut c = Client::new();
    assert_eq!(c.call(command::NEGOTIATE, &negotiate_body(&[0x0300], false)).status(), status::SUCCESS);
    let r = c.session_setup(&ntlm_negotiate());
    c.session = r.hdr.session_id;
    let r = c.session_setup(&crate::testing::smb_client::ntlm_anonymous_authenticate());
    assert_eq!(r.status(), status::SUCCESS);
    let (mut ch, _) = connect(&mut c, 0x0300);
    let r = on(&mut c, &mut ch, |c| signed_call(c, &[7; 16], command::SESSION_SETUP, &bind_body(&ntlm_negotiate()), 1, false));
    assert_eq!(r.status(), status::NOT_SUPPORTED);
}

/// FSCTL_QUERY_NETWORK_INTERFACE_INFO (MS-SMB2 3.3.5.15.11) answers the
/// interfaces the adapter told the core of, on a connection offered
/// multichannel; without them, or without multichannel, NOT_SUPPORTED.
#[test]
fn network_interface_info_lists_the_configured_interfaces() {
    use crate::config::NetworkInterface;
    use crate::smb::wire::ioctl::{FSCTL_QUERY_NETWORK_INTERFACE_INFO, IoctlRequest};
    use crate::smb::wire::network_interface::ENTRY_LEN;
    let query_on = |cfg: Config, max_output: u32, file_id: FileId| {
        let mut c = Client::with_config(cfg);
        c.login_anonymous();
        let r = c.tree_connect("\\\\127.0.0.1\\SHARE");
        c.tree = r.hdr.tree_id;
        let mut body = Vec::new();
        let req = IoctlRequest {
            ctl_code: FSCTL_QUERY_NETWORK_INTERFACE_INFO,
            file_id,
            input: &[],
            max_output,
            flags: 1,
        };
        req.encode(&mut body);
        c.call(command::IOCTL, &body)
    };
    let all = FileId { persistent: u64::MAX, volatile: u64::MAX };
    let query = |cfg: Config, max_output: u32| query_on(cfg, max_output, all);
    let lo = NetworkInterface { if_index: 1, addr: "127.0.0.1".parse().unwrap(), link_speed: 1_000_000_000, rss_capable: false };
    let mut cfg = Config::default();
    cfg.smb.interfaces = vec![lo];
    let r = query(cfg.clone(), 65536);
    assert_eq!(r.status(), status::SUCCESS);
    let off = u32_at(&r.body, 32).unwrap() as usize - 64;
    assert_eq!(u32_at(&r.body, 36).unwrap() as usize, ENTRY_LEN);
    assert_eq!(u32_at(&r.body, off + 4).unwrap(), 1, "IfIndex");
    assert_eq!(u64_at(&r.body, off + 16).unwrap(), 1_000_000_000, "LinkSpeed");
    assert_eq!(&r.body[off + 28..off + 32], &[127, 0, 0, 1]);
    assert_eq!(query(cfg.clone(), 100).status(), status::BUFFER_TOO_SMALL);
    let other = FileId { persistent: i64::MAX as u64, volatile: i64::MAX as u64 };
    assert_eq!(query_on(cfg.clone(), 1, other).status(), status::INVALID_PARAMETER, "names no open");
    assert_eq!(query(Config::default(), 65536).status(), status::NOT_SUPPORTED, "none told");
    cfg.smb.multichannel = false;
    assert_eq!(query(cfg, 65536).status(), status::NOT_SUPPORTED, "multichannel off");
}
