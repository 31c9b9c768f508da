//! Sessions (MS-SMB2 3.3.5.2.4, 3.3.5.5, 3.3.5.6, issue "Security"): a
//! re-authentication keeps the session's user, keys and signing; one that
//! fails, is refused by signing or proves another user logs the session
//! off; a logged-off SessionId answers STATUS_USER_SESSION_DELETED.

use super::limits::{
    SIGNING_ENABLED, SIGNING_REQUIRED, login_alice, ntlm_user_authenticate, security_buffer, setup_body, signed_call,
};
use super::*;
use crate::config::User;
use crate::rng::Seed;

/// SecurityMode of a client that requires signing.
const REQUIRE: u8 = SIGNING_ENABLED | SIGNING_REQUIRED;

/// alice on a session whose client requires signing; guest logons allowed
/// on the server.
fn alice() -> (Client, [u8; 16]) {
    let mut cfg = Config::default();
    cfg.smb.users.push(User::new("bob", "Other2"));
    login_alice(cfg, REQUIRE)
}

fn tree_connect_body() -> Vec<u8> {
    let p = utf16le("\\\\x\\share");
    let mut b = vec![9, 0, 0, 0, 72, 0];
    b.extend_from_slice(&(p.len() as u16).to_le_bytes());
    b.extend_from_slice(&p);
    b
}

/// alice's session with the share connected and `f` open, all signed.
fn alice_with_open() -> (Client, [u8; 16], FileId) {
    let (mut c, key) = alice();
    let r = signed_call(&mut c, &key, command::TREE_CONNECT, &tree_connect_body(), 1, false);
    assert_eq!(r.status(), status::SUCCESS);
    c.tree = r.hdr.tree_id;
    let body = create_body("f", RW, SHARE_ALL, disposition::OPEN_IF, 0, &[]);
    let r = signed_call(&mut c, &key, command::CREATE, &body, 1, false);
    assert_eq!(r.status(), status::SUCCESS);
    let fid = r.file_id();
    assert_eq!(c.server.smb_shared().files.len(), 1);
    (c, key, fid)
}

/// A signed SESSION_SETUP of the current session carrying `token`.
fn signed_setup(c: &mut Client, key: &[u8; 16], token: &[u8], tamper: bool) -> Resp {
    signed_call(c, key, command::SESSION_SETUP, &setup_body(token, REQUIRE, 0), 1, tamper)
}

/// A signed re-authentication: NEGOTIATE, then the AUTHENTICATE `auth`
/// builds from the CHALLENGE; the final response.
fn reauthenticate(c: &mut Client, key: &[u8; 16], auth: impl Fn(&[u8]) -> Vec<u8>) -> Resp {
    let r = signed_setup(c, key, &ntlm_negotiate(), false);
    assert_eq!(r.status(), status::MORE_PROCESSING_REQUIRED);
    assert_eq!(r.hdr.session_id, c.session);
    let token = auth(security_buffer(&r));
    signed_setup(c, key, &token, false)
}

/// The session and everything it held are gone.
fn assert_logged_off(c: &mut Client, key: &[u8; 16]) {
    let r = signed_call(c, key, command::TREE_CONNECT, &tree_connect_body(), 1, false);
    assert_eq!(r.status(), status::USER_SESSION_DELETED);
    assert!(!c.server.smb_shared().sessions.contains_key(&c.session), "still in the global table");
    assert!(c.server.smb_shared().files.is_empty(), "its open was not closed");
}

#[test]
fn an_unsigned_reauthentication_of_a_signed_session_logs_it_off() {
    let (mut c, key, _) = alice_with_open();
    // Unsigned, on its way to an anonymous (guest) logon: refused at once.
    let r = c.call(command::SESSION_SETUP, &setup_body(&ntlm_negotiate(), SIGNING_ENABLED, 0));
    assert_eq!(r.status(), status::ACCESS_DENIED);
    assert_logged_off(&mut c, &key);
}

#[test]
fn a_tampered_signed_session_setup_is_refused() {
    let (mut c, key, _) = alice_with_open();
    let r = signed_setup(&mut c, &key, &ntlm_negotiate(), true);
    assert_eq!(r.status(), status::ACCESS_DENIED);
    assert_logged_off(&mut c, &key);
}

#[test]
fn a_reauthentication_of_the_same_user_keeps_the_session_its_key_and_opens() {
    let (mut c, key, fid) = alice_with_open();
    let r = reauthenticate(&mut c, &key, |ch| ntlm_user_authenticate(ch, "alice", "Secret1").0);
    assert_eq!(r.status(), status::SUCCESS);
    assert_eq!(u16_at(&r.body, 2).unwrap(), 0, "still a user session");
    // The open answers, signed with the key the session was set up with.
    let r = signed_call(&mut c, &key, command::QUERY_INFO, &query_info_body(fid, 1, 5), 1, false);
    assert_eq!(r.status(), status::SUCCESS);
}

#[test]
fn an_anonymous_reauthentication_leaves_the_user_session_and_its_signing() {
    let (mut c, key, fid) = alice_with_open();
    let r = reauthenticate(&mut c, &key, |_| ntlm_anonymous_authenticate());
    assert_eq!(r.status(), status::SUCCESS);
    assert_eq!(u16_at(&r.body, 2).unwrap(), 0, "neither IS_NULL nor IS_GUEST: the session stays alice's");
    // Signing is still required, with the same key.
    assert_eq!(c.call(command::QUERY_INFO, &query_info_body(fid, 1, 5)).status(), status::ACCESS_DENIED);
    let r = signed_call(&mut c, &key, command::QUERY_INFO, &query_info_body(fid, 1, 5), 1, false);
    assert_eq!(r.status(), status::SUCCESS);
}

#[test]
fn a_failed_reauthentication_logs_the_session_off() {
    let (mut c, key, _) = alice_with_open();
    let r = reauthenticate(&mut c, &key, |ch| ntlm_user_authenticate(ch, "alice", "wrong").0);
    assert_eq!(r.status(), status::LOGON_FAILURE);
    assert_logged_off(&mut c, &key);
}

#[test]
fn a_reauthentication_as_another_user_logs_the_session_off() {
    let (mut c, key, _) = alice_with_open();
    let r = reauthenticate(&mut c, &key, |ch| ntlm_user_authenticate(ch, "bob", "Other2").0);
    assert_eq!(r.status(), status::ACCESS_DENIED);
    assert_logged_off(&mut c, &key);
}

#[test]
fn malformed_ntlmv2_av_pairs_are_an_invalid_parameter() {
    let (mut c, key, _) = alice_with_open();
    let r = reauthenticate(&mut c, &key, |ch| {
        let mut auth = ntlm_user_authenticate(ch, "alice", "Secret1").0;
        // NtChallengeResponseFields (MS-NLMP 2.2.1.3): the first AvPair of
        // the NTLMv2_CLIENT_CHALLENGE claims more bytes than there are.
        let nt = u32_at(&auth, 24).unwrap() as usize;
        let av_len = nt + 16 + 28 + 2;
        auth[av_len..av_len + 2].copy_from_slice(&0xFFF0u16.to_le_bytes());
        auth
    });
    assert_eq!(r.status(), status::INVALID_PARAMETER);
    assert_logged_off(&mut c, &key);
}

#[test]
fn after_logoff_the_session_id_is_deleted() {
    let (mut c, key, _) = alice_with_open();
    assert_eq!(signed_call(&mut c, &key, command::LOGOFF, &[4, 0, 0, 0], 1, false).status(), status::SUCCESS);
    assert_logged_off(&mut c, &key);
    // Unsigned as well, and a re-authentication of it.
    assert_eq!(c.tree_connect("\\\\x\\share").status(), status::USER_SESSION_DELETED);
    let r = c.call(command::SESSION_SETUP, &setup_body(&ntlm_negotiate(), SIGNING_ENABLED, 0));
    assert_eq!(r.status(), status::USER_SESSION_DELETED);
}

#[test]
fn a_previous_session_id_of_the_same_user_ends_that_session() {
    let (mut c, key, _) = alice_with_open();
    let old = c.session;
    c.session = 0;
    let r = c.call(command::SESSION_SETUP, &setup_body(&ntlm_negotiate(), REQUIRE, old));
    assert_eq!(r.status(), status::MORE_PROCESSING_REQUIRED);
    c.session = r.hdr.session_id;
    let (auth, _) = ntlm_user_authenticate(security_buffer(&r), "alice", "Secret1");
    assert_eq!(c.call(command::SESSION_SETUP, &setup_body(&auth, REQUIRE, old)).status(), status::SUCCESS);
    assert_ne!(c.session, old);
    assert!(c.server.smb_shared().sessions.contains_key(&c.session));
    c.session = old;
    assert_logged_off(&mut c, &key);
}

#[test]
fn require_signing_refuses_guest_and_anonymous_logons() {
    let mut cfg = Config::default();
    cfg.smb.require_signing = true;
    let mut c = Client::with_config(cfg);
    c.negotiate_311();
    let r = c.session_setup(&ntlm_negotiate());
    assert_eq!(r.status(), status::MORE_PROCESSING_REQUIRED);
    c.session = r.hdr.session_id;
    assert_eq!(c.session_setup(&ntlm_anonymous_authenticate()).status(), status::LOGON_FAILURE);
    assert!(c.server.smb_shared().sessions.is_empty());
}

#[test]
fn require_signing_refuses_an_anonymous_reauthentication_and_unsigned_requests() {
    let mut cfg = Config::default();
    cfg.smb.require_signing = true;
    // The client only enables signing: the server's configuration requires it.
    let (mut c, key) = login_alice(cfg, SIGNING_ENABLED);
    assert_eq!(c.tree_connect("\\\\x\\share").status(), status::ACCESS_DENIED);
    let r = reauthenticate(&mut c, &key, |_| ntlm_anonymous_authenticate());
    assert_eq!(r.status(), status::LOGON_FAILURE);
    let r = signed_call(&mut c, &key, command::TREE_CONNECT, &tree_connect_body(), 1, false);
    assert_eq!(r.status(), status::USER_SESSION_DELETED);
}

#[test]
fn a_signed_negotiate_and_a_signed_request_without_a_key_are_refused() {
    use crate::smb::wire::header::FLAG_SIGNED;
    let mut c = Client::new();
    let body = negotiate_body(&[0x0300], false);
    assert_eq!(c.call_flags(command::NEGOTIATE, &body, FLAG_SIGNED).status(), status::INVALID_PARAMETER);
    // An anonymous session has no key to verify a signature with.
    c.login_anonymous();
    let r = c.call_flags(command::TREE_CONNECT, &tree_connect_body(), FLAG_SIGNED);
    assert_eq!(r.status(), status::NOT_SUPPORTED);
    // A signed request naming no session of the connection.
    c.session ^= 1;
    let r = c.call_flags(command::TREE_CONNECT, &tree_connect_body(), FLAG_SIGNED);
    assert_eq!(r.status(), status::USER_SESSION_DELETED);
}

/// The ServerGuid and the first NTLM server challenge of a server keyed
/// with `seed`.
fn guid_and_challenge(seed: Seed) -> ([u8; 16], [u8; 8]) {
    let now = Instant::now();
    let mut server = Server::with_seed(Config::default(), Box::new(MemoryFs::default()), seed, now);
    let conn = server.accept(Protocol::Smb, "127.0.0.1:50000".parse().unwrap(), now).unwrap();
    let mut c = Client { server, conn, now, mid: 0, session: 0, tree: 0, closed: false };
    let r = c.call(command::NEGOTIATE, &negotiate_body(&[0x0300], false));
    let guid = r.body[8..24].try_into().unwrap();
    let r = c.call(command::SESSION_SETUP, &setup_body(&ntlm_negotiate(), SIGNING_ENABLED, 0));
    (guid, security_buffer(&r)[24..32].try_into().unwrap())
}

#[test]
fn challenges_follow_the_seed() {
    let fixed = guid_and_challenge(Seed::Fixed(5));
    assert_eq!(fixed, guid_and_challenge(Seed::Fixed(5)), "the same seed replays the same values");
    let a = guid_and_challenge(Seed::Entropy([1; 32]));
    let b = guid_and_challenge(Seed::Entropy([2; 32]));
    assert_eq!(a, guid_and_challenge(Seed::Entropy([1; 32])));
    assert!(a.0 != b.0 && a.1 != b.1, "different entropy, different ServerGuid and challenge");
    assert!(fixed.1 != a.1 && fixed.1 != b.1);
}
