//! Limits and security checks over SMB (issue "Robustness"): each test sets
//! a small limit and fails when the check it names is removed.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::config::User;
use crate::server::AcceptError;
use crate::smb::signing::{self, SigningAlgorithm};
use crate::smb::wire::header::HEADER_LEN;
use crate::smb::wire::utf16::utf16le;
use crate::vfs::{LocalFs, Vfs};

impl Client {
    fn with_vfs(config: Config, vfs: Box<dyn Vfs>) -> Self {
        let now = Instant::now();
        let mut server = Server::new(config, vfs, 7, now);
        let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let conn = server.accept(Protocol::Smb, peer, now).unwrap();
        Self { server, conn, now, mid: 0, session: 0, tree: 0, closed: false }
    }

    fn ready_with(config: Config) -> Self {
        let mut c = Self::with_config(config);
        c.login_anonymous();
        let r = c.tree_connect("\\\\x\\share");
        assert_eq!(r.status(), status::SUCCESS);
        c.tree = r.hdr.tree_id;
        c
    }
}

#[test]
fn oversized_message_closes_the_connection() {
    let mut cfg = Config::default();
    cfg.limits.max_frame = 4096;
    let mut c = Client::ready_with(cfg);
    // A message exactly at the limit is processed...
    let mut m = raw_header(command::ECHO, c.mid, c.session, c.tree, 0);
    c.mid += 1;
    m.extend_from_slice(&[4, 0, 0, 0]);
    m.resize(4096, 0);
    assert_eq!(c.send_raw(&m)[0][0].status(), status::SUCCESS);
    assert!(!c.closed);
    // ...one byte more is refused and the connection dropped (framing.rs).
    let mut m = raw_header(command::ECHO, c.mid, c.session, c.tree, 0);
    m.extend_from_slice(&[4, 0, 0, 0]);
    m.resize(4097, 0);
    assert!(c.send_raw(&m).is_empty());
    assert!(c.closed);
}

#[test]
fn credits_are_capped_and_requests_beyond_them_close() {
    let mut cfg = Config::default();
    cfg.smb.max_credits = 4;
    let mut c = Client::with_config(cfg);
    let r = c.negotiate_311();
    assert_eq!(r.hdr.credits, 4, "asked for 64, capped at max_credits");
    // Holding 3 after this charge, the next grant only tops up to 4.
    let r = c.call(command::ECHO, &[4, 0, 0, 0]);
    assert_eq!(r.hdr.credits, 1);
    // Granted ids are 0..=5; 6 was never granted.
    c.mid = 6;
    c.call_flags_expect_close(command::ECHO, &[4, 0, 0, 0]);
}

#[test]
fn outstanding_async_operations_per_connection_are_bounded() {
    let mut cfg = Config::default();
    cfg.limits.max_outstanding_per_conn = 2;
    let mut c = Client::ready_with(cfg);
    for _ in 0..2 {
        assert_eq!(c.create("__pend__", RW, SHARE_ALL, disposition::OPEN_IF, 0).status(), status::PENDING);
    }
    let r = c.create("__pend__", RW, SHARE_ALL, disposition::OPEN_IF, 0);
    assert_eq!(r.status(), status::INSUFFICIENT_RESOURCES);
    assert_eq!(r.hdr.flags & 0x2, 0, "a synchronous error, not an interim response");
    assert!(!c.closed);
}

#[test]
fn open_files_per_session_are_bounded() {
    let mut cfg = Config::default();
    cfg.limits.max_opens_per_session = 2;
    let mut c = Client::ready_with(cfg);
    let a = c.create("a", RW, SHARE_ALL, disposition::OPEN_IF, 0);
    assert_eq!(a.status(), status::SUCCESS);
    assert_eq!(c.create("b", RW, SHARE_ALL, disposition::OPEN_IF, 0).status(), status::SUCCESS);
    assert_eq!(c.create("c", RW, SHARE_ALL, disposition::OPEN_IF, 0).status(), status::INSUFFICIENT_RESOURCES);
    // Closing one makes room again.
    assert_eq!(c.call(command::CLOSE, &close_body(a.file_id(), 0)).status(), status::SUCCESS);
    assert_eq!(c.create("c", RW, SHARE_ALL, disposition::OPEN_IF, 0).status(), status::SUCCESS);
}

#[test]
fn connections_are_bounded() {
    let mut cfg = Config::default();
    cfg.limits.max_connections = 2;
    let mut c = Client::with_config(cfg);
    let peer: SocketAddr = "127.0.0.1:50001".parse().unwrap();
    let second = c.server.accept(Protocol::Smb, peer, c.now).unwrap();
    assert_eq!(c.server.accept(Protocol::Nfs, peer, c.now), Err(AcceptError::TooManyConnections(2)));
    c.server.handle_closed(second, c.now);
    assert!(c.server.accept(Protocol::Smb, peer, c.now).is_ok());
}

#[test]
fn query_directory_returns_at_most_max_dir_entries() {
    let mut cfg = Config::default();
    cfg.limits.max_dir_entries = 3;
    let mut c = Client::ready_with(cfg);
    for i in 0..7 {
        c.put(&format!("f{i}"), b"x");
    }
    let fid = c.create("", 0x0010_0081, SHARE_ALL, disposition::OPEN, options::DIRECTORY_FILE).file_id();
    let mut all = Vec::new();
    loop {
        let r = c.call(command::QUERY_DIRECTORY, &query_dir_body(fid, 37, 0, "*"));
        if r.status() == status::NO_MORE_FILES {
            break;
        }
        assert_eq!(r.status(), status::SUCCESS);
        let names = dir_names(&r.body, 104);
        assert!(names.len() <= 3, "one response holds at most max_dir_entries: {names:?}");
        all.extend(names);
    }
    assert_eq!(all.len(), 9, ". .. and 7 files, over several calls: {all:?}");
}

#[test]
fn connections_that_never_authenticate_are_closed() {
    let mut cfg = Config::default();
    cfg.limits.unauthenticated_timeout = Duration::from_secs(5);
    let mut idle = Client::with_config(cfg.clone());
    idle.negotiate_311();
    idle.server.handle_timeout(idle.now + Duration::from_millis(4999));
    assert!(idle.server.poll_output().is_none());
    assert_eq!(idle.server.poll_timeout(), Some(idle.now + Duration::from_secs(5)));
    idle.server.handle_timeout(idle.now + Duration::from_secs(5));
    assert!(matches!(idle.server.poll_output(), Some(Output::Close { .. })));
    // Authenticated in time: never closed.
    let mut ok = Client::ready_with(cfg);
    ok.server.handle_timeout(ok.now + Duration::from_secs(500));
    assert!(ok.server.poll_output().is_none());
}

#[test]
fn a_session_cannot_use_another_sessions_file_id_or_tree_id() {
    let mut c = Client::ready();
    c.put("f", b"secret");
    let (s1, t1) = (c.session, c.tree);
    let fid = c.create("f", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
    // A second session on the same connection.
    c.session = 0;
    let r = c.session_setup(&ntlm_negotiate());
    c.session = r.hdr.session_id;
    assert_ne!(c.session, s1);
    assert_eq!(c.session_setup(&ntlm_anonymous_authenticate()).status(), status::SUCCESS);
    // Session 2 naming session 1's tree.
    c.tree = t1;
    assert_eq!(c.call(command::READ, &read_body(fid, 0, 6)).status(), status::NETWORK_NAME_DELETED);
    // Session 2 on its own tree with session 1's FileId.
    let t2 = c.tree_connect("\\\\x\\share");
    c.tree = t2.hdr.tree_id;
    assert_eq!(c.call(command::READ, &read_body(fid, 0, 6)).status(), status::FILE_CLOSED);
    assert_eq!(c.call(command::CLOSE, &close_body(fid, 0)).status(), status::FILE_CLOSED);
    // The owner still reads it.
    c.session = s1;
    c.tree = t1;
    assert_eq!(c.call(command::READ, &read_body(fid, 0, 6)).status(), status::SUCCESS);
}

#[test]
fn unauthenticated_sessions_cannot_reach_a_share_that_needs_a_user() {
    let mut cfg = Config::default();
    cfg.smb.shares[0].guest_ok = false;
    // An anonymous session is refused.
    let mut c = Client::with_config(cfg.clone());
    c.login_anonymous();
    assert_eq!(c.tree_connect("\\\\x\\share").status(), status::ACCESS_DENIED);
    // A session whose authentication is still in progress is no session.
    let mut c = Client::with_config(cfg);
    c.negotiate_311();
    let r = c.session_setup(&ntlm_negotiate());
    assert_eq!(r.status(), status::MORE_PROCESSING_REQUIRED);
    c.session = r.hdr.session_id;
    assert_eq!(c.tree_connect("\\\\x\\share").status(), status::USER_SESSION_DELETED);
}

pub(super) use crate::testing::smb_client::ntlm_user_authenticate;

/// A client logged in as alice on a dialect 3.0 session that requires
/// signing, and the session's signing key.
fn alice_signed() -> (Client, [u8; 16]) {
    let mut cfg = Config::default();
    cfg.smb.guest = false;
    cfg.smb.require_signing = true;
    login_alice(cfg, SIGNING_ENABLED)
}

/// SecurityMode bits of NEGOTIATE and SESSION_SETUP (MS-SMB2 2.2.5).
pub(super) const SIGNING_ENABLED: u8 = 1;
pub(super) const SIGNING_REQUIRED: u8 = 2;

/// The body of a SESSION_SETUP request carrying `token`.
pub(super) fn setup_body(token: &[u8], security_mode: u8, previous_session: u64) -> Vec<u8> {
    let mut b = vec![25, 0, 0, security_mode, 0, 0, 0, 0, 0, 0, 0, 0, 88, 0];
    b.extend_from_slice(&(token.len() as u16).to_le_bytes());
    b.extend_from_slice(&previous_session.to_le_bytes());
    b.extend_from_slice(token);
    b
}

/// The security buffer of a SESSION_SETUP response.
pub(super) fn security_buffer(r: &Resp) -> &[u8] {
    let off = u16_at(&r.body, 4).unwrap() as usize - HEADER_LEN;
    let len = u16_at(&r.body, 6).unwrap() as usize;
    &r.body[off..off + len]
}

/// A client with alice (password Secret1) added to `cfg`, logged in on a
/// dialect 3.0 session set up with `security_mode`, and the session's
/// signing key.
pub(super) fn login_alice(mut cfg: Config, security_mode: u8) -> (Client, [u8; 16]) {
    cfg.smb.users.push(User::new("alice", "Secret1"));
    let mut c = Client::with_config(cfg);
    assert_eq!(c.call(command::NEGOTIATE, &negotiate_body(&[0x0300], false)).status(), status::SUCCESS);
    let r = c.call(command::SESSION_SETUP, &setup_body(&ntlm_negotiate(), security_mode, 0));
    assert_eq!(r.status(), status::MORE_PROCESSING_REQUIRED);
    c.session = r.hdr.session_id;
    let (auth, base) = ntlm_user_authenticate(security_buffer(&r), "alice", "Secret1");
    let r = c.call(command::SESSION_SETUP, &setup_body(&auth, security_mode, 0));
    assert_eq!(r.status(), status::SUCCESS);
    assert_eq!(u16_at(&r.body, 2).unwrap(), 0, "a user session, neither guest nor null");
    (c, crate::smb::kdf::signing_key(0x0300, &base, None))
}

/// Sends `body` as `cmd`, signed with `key` (then one byte of it flipped
/// when `tamper`), charging `credits`; returns the one response.
pub(super) fn signed_call(c: &mut Client, key: &[u8; 16], cmd: u16, body: &[u8], credits: u16, tamper: bool) -> Resp {
    let mut m = raw_header(cmd, c.mid, c.session, c.tree, 0);
    m[6..8].copy_from_slice(&credits.to_le_bytes());
    c.mid += u64::from(credits);
    m.extend_from_slice(body);
    signing::sign(SigningAlgorithm::AesCmac, key, &mut m);
    if tamper {
        *m.last_mut().unwrap() ^= 1;
    }
    let mut r = c.send_raw(&m);
    r.remove(0).remove(0)
}

#[test]
fn a_signed_session_rejects_unsigned_and_wrongly_signed_requests() {
    let (mut c, key) = alice_signed();
    let tc = {
        let p = utf16le("\\\\x\\share");
        let mut b = vec![9, 0, 0, 0, 72, 0];
        b.extend_from_slice(&(p.len() as u16).to_le_bytes());
        b.extend_from_slice(&p);
        b
    };
    // Unsigned: refused.
    assert_eq!(c.call(command::TREE_CONNECT, &tc).status(), status::ACCESS_DENIED);
    // Signed with a wrong key, and signed then tampered with: refused.
    for tamper in [false, true] {
        let mut m = raw_header(command::TREE_CONNECT, c.mid, c.session, 0, 0);
        c.mid += 1;
        m.extend_from_slice(&tc);
        let k = if tamper { key } else { [0x42; 16] };
        signing::sign(SigningAlgorithm::AesCmac, &k, &mut m);
        if tamper {
            *m.last_mut().unwrap() ^= 1;
        }
        let r = c.send_raw(&m);
        assert_eq!(r[0][0].status(), status::ACCESS_DENIED, "tamper={tamper}");
    }
    // Correctly signed: accepted, and the response is signed with the key.
    let mut m = raw_header(command::TREE_CONNECT, c.mid, c.session, 0, 0);
    c.mid += 1;
    m.extend_from_slice(&tc);
    signing::sign(SigningAlgorithm::AesCmac, &key, &mut m);
    let mut framed = vec![0, 0, (m.len() >> 8) as u8, m.len() as u8];
    framed.extend_from_slice(&m);
    c.server.handle_input(c.conn, &framed, c.now);
    let Some(Output::Transmit { data, .. }) = c.server.poll_output() else { panic!("no response") };
    let resp = &data[4..];
    assert_eq!(u32_at(resp, 8).unwrap(), status::SUCCESS);
    assert!(signing::verify(SigningAlgorithm::AesCmac, &key, resp));
}

/// A LocalFs root under the temp dir next to a directory outside it that
/// holds `secret`; the root has `sym` -> outside dir, `symf` -> secret file.
struct Escape {
    base: PathBuf,
    root: PathBuf,
}

impl Escape {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let base = std::env::temp_dir().join(format!("polyshare-escape-smb-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let root = base.join("root");
        fs::create_dir_all(&root).unwrap();
        fs::create_dir(base.join("out")).unwrap();
        fs::write(base.join("out/x"), b"OUTSIDE").unwrap();
        fs::write(base.join("x"), b"OUTSIDE").unwrap();
        std::os::unix::fs::symlink(base.join("out"), root.join("sym")).unwrap();
        std::os::unix::fs::symlink(base.join("out/x"), root.join("symf")).unwrap();
        fs::write(root.join("inside"), b"in").unwrap();
        // Modes that let the anonymous session do anything: what refuses
        // the escapes is confinement, not the access check.
        use std::os::unix::fs::PermissionsExt;
        for (p, mode) in [(&base, 0o777), (&root, 0o777), (&base.join("out"), 0o777), (&root.join("inside"), 0o666)] {
            fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
        }
        for p in [base.join("out/x"), base.join("x")] {
            fs::set_permissions(p, fs::Permissions::from_mode(0o666)).unwrap();
        }
        Self { base, root }
    }
}

impl Drop for Escape {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

#[test]
fn local_fs_escapes_over_smb_fail() {
    let e = Escape::new();
    let mut c = Client::with_vfs(Config::default(), Box::new(LocalFs::new(&e.root).unwrap()));
    c.login_anonymous();
    let t = c.tree_connect("\\\\x\\share");
    c.tree = t.hdr.tree_id;
    assert_eq!(c.create("inside", RW, SHARE_ALL, disposition::OPEN, 0).status(), status::SUCCESS);
    // MS-FSCC 2.1.5 path rules and LocalFs confinement (vfs/local.rs).
    let cases: [(&str, u32); 7] = [
        // Climbing above the share root: OBJECT_PATH_SYNTAX_BAD, as
        // Windows and smbd answer (smbtorture smb2.mkdir).
        ("..\\x", status::OBJECT_PATH_SYNTAX_BAD),
        ("inside\\..\\..\\x", status::OBJECT_PATH_SYNTAX_BAD),
        ("\\x", status::INVALID_PARAMETER),
        ("sym\\x", status::OBJECT_PATH_NOT_FOUND),
        // A symlink carries no streams (and is never followed to a file
        // that could): INVALID_PARAMETER, as MemoryFs answers.
        ("sym:stream", status::INVALID_PARAMETER),
        ("symf:s", status::INVALID_PARAMETER),
        ("C:\\x", status::OBJECT_NAME_INVALID),
    ];
    for (name, want) in cases {
        for disp in [disposition::OPEN, disposition::OPEN_IF, disposition::OVERWRITE_IF] {
            assert_eq!(c.create(name, RW, SHARE_ALL, disp, 0).status(), want, "{name:?} disposition {disp}");
        }
    }
    // A symlink opens as itself (never followed): no data through it.
    let r = c.create("symf", RW, SHARE_ALL, disposition::OPEN, 0);
    assert_eq!(r.status(), status::SUCCESS);
    let fid = r.file_id();
    assert_eq!(c.call(command::READ, &read_body(fid, 0, 100)).status(), status::INVALID_PARAMETER);
    assert_eq!(c.call(command::WRITE, &write_body(fid, 0, b"X")).status(), status::INVALID_PARAMETER);
    // Nothing was created outside, nothing outside changed.
    assert!(!e.base.join("out/stream").exists());
    assert_eq!(fs::read(e.base.join("out/x")).unwrap(), b"OUTSIDE");
    assert_eq!(fs::read(e.base.join("x")).unwrap(), b"OUTSIDE");
    let mut outside = fs::read_dir(e.base.join("out")).unwrap().map(|d| d.unwrap().file_name()).collect::<Vec<_>>();
    outside.sort();
    assert_eq!(outside, ["x"]);
}

/// A large signed WRITE has its signature checked off the core's thread
/// (on a storage worker) before anything is done with it: tampered, it is
/// refused and nothing is written; intact, it is written.
#[test]
fn a_large_signed_write_is_checked_before_it_is_written() {
    let (mut c, key) = alice_signed();
    let p = utf16le("\\\\x\\share");
    let mut tc = vec![9, 0, 0, 0, 72, 0];
    tc.extend_from_slice(&(p.len() as u16).to_le_bytes());
    tc.extend_from_slice(&p);
    let r = signed_call(&mut c, &key, command::TREE_CONNECT, &tc, 1, false);
    assert_eq!(r.status(), status::SUCCESS);
    c.tree = r.hdr.tree_id;
    let create = create_body("big", 0x0012_019F, 7, 5, 0, &[]);
    let r = signed_call(&mut c, &key, command::CREATE, &create, 1, false);
    assert_eq!(r.status(), status::SUCCESS);
    let fid = r.file_id();
    let data = vec![0x77; 100_000];
    let write = write_body(fid, 0, &data);
    let r = signed_call(&mut c, &key, command::WRITE, &write, 2, true);
    assert_eq!(r.status(), status::ACCESS_DENIED, "tampered");
    let object = c.server.smb_open(c.conn, fid).unwrap().0;
    assert_eq!(c.server.vfs().getattr(object).unwrap().size, 0, "nothing written");
    // Step by step: the check is a request of its own, answered before the
    // WRITE's storage request exists.
    let mut m = raw_header(command::WRITE, c.mid, c.session, c.tree, 0);
    m[6..8].copy_from_slice(&2u16.to_le_bytes());
    m.extend_from_slice(&write);
    signing::sign(SigningAlgorithm::AesCmac, &key, &mut m);
    c.server.handle_frame(c.conn, m.into(), c.now);
    let Some(Output::Io(check)) = c.server.poll_output() else { panic!("no signature check") };
    assert!(matches!(check.op(), crate::io::IoOp::VerifySignature { .. }));
    assert!(c.server.poll_output().is_none(), "nothing else before the check is done");
    c.server.handle_io(check.run(), c.now);
    let Some(Output::Io(store)) = c.server.poll_output() else { panic!("no write after the check") };
    assert!(matches!(store.op(), crate::io::IoOp::Write { .. }));
    c.server.handle_io(store.run(), c.now);
    let Some(Output::Transmit { data: reply, .. }) = c.server.poll_output() else { panic!("no reply") };
    assert_eq!(u32_at(&reply[4..], 8).unwrap(), status::SUCCESS);
    assert!(signing::verify(SigningAlgorithm::AesCmac, &key, &reply[4..]), "the response is signed");
    assert_eq!(c.server.vfs().read(object, 0, 200_000).unwrap().0, data);
}

/// A guest session on SMB 2.0.2, where MaxReadSize and MaxWriteSize are
/// 64 KiB whatever the configuration says (no multi-credit requests).
fn ready_smb202() -> Client {
    let mut c = Client::with_config(Config::default());
    assert_eq!(c.call(command::NEGOTIATE, &negotiate_body(&[0x0202], false)).status(), status::SUCCESS);
    let r = c.session_setup(&ntlm_negotiate());
    c.session = r.hdr.session_id;
    assert_eq!(c.session_setup(&ntlm_anonymous_authenticate()).status(), status::SUCCESS);
    let r = c.tree_connect("\\\\x\\share");
    assert_eq!(r.status(), status::SUCCESS);
    c.tree = r.hdr.tree_id;
    c
}

#[test]
fn reads_and_writes_beyond_the_negotiated_sizes_fail() {
    let mut c = ready_smb202();
    let r = c.create("f", RW, SHARE_ALL, disposition::OVERWRITE_IF, options::NON_DIRECTORY_FILE);
    assert_eq!(r.status(), status::SUCCESS);
    let fid = r.file_id();
    let max = 65_536;
    // MS-SMB2 3.3.5.13: one byte beyond MaxWriteSize is refused, nothing written.
    let too_big = c.call(command::WRITE, &write_body(fid, 0, &vec![1; max + 1]));
    assert_eq!(too_big.status(), status::INVALID_PARAMETER);
    let object = c.server.smb_open(c.conn, fid).unwrap().0;
    assert_eq!(c.server.vfs().getattr(object).unwrap().size, 0, "nothing written");
    assert_eq!(c.call(command::WRITE, &write_body(fid, 0, &vec![2; max])).status(), status::SUCCESS);
    // MS-SMB2 3.3.5.12: likewise for a READ's Length.
    assert_eq!(c.call(command::READ, &read_body(fid, 0, max as u32 + 1)).status(), status::INVALID_PARAMETER);
    let r = c.call(command::READ, &read_body(fid, 0, max as u32));
    assert_eq!(r.status(), status::SUCCESS);
}
