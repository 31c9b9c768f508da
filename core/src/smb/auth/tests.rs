//! SESSION_SETUP exchanges against a small test-only NTLMv2 client.

use super::ntlm::{self, tests::hex};
use super::*;
use crate::smb::wire::utf16::utf16le;
use quickcheck::quickcheck;

const CHALLENGE: [u8; 8] = ntlm::tests::SERVER_CHALLENGE;
const TIME: u64 = 0x01dc_7a00_0000_0000;
const CLIENT_FLAGS: u32 = 0xe208_8297; // what smbclient sends: KEY_EXCH|128|56|VERSION|ESS|ALWAYS_SIGN|NTLM|SEAL|SIGN|REQUEST_TARGET|OEM|UNICODE

fn users_list() -> Vec<User> {
    vec![
        User::new("alice", "Secret1"),
        User::new("User", "Password"),
        User::new("nopass", ""),
    ]
}

fn users(list: &[User], guest: bool) -> AuthUsers<'_> {
    AuthUsers { users: list, guest, domain: "WORKGROUP", server_name: "polyshare" }
}

/// How the test client behaves.
#[derive(Clone)]
struct Client {
    user: String,
    domain: String,
    password: String,
    flags: u32,
    mic: bool,
    spnego: bool,
    /// Domain used in NTOWFv2 (clients sometimes use NIL).
    hash_domain: Option<String>,
    random_key: [u8; 16],
    client_challenge: [u8; 8],
}

impl Client {
    fn new(user: &str, password: &str) -> Self {
        Self {
            user: user.into(),
            domain: "WORKGROUP".into(),
            password: password.into(),
            flags: CLIENT_FLAGS,
            mic: true,
            spnego: true,
            hash_domain: None,
            random_key: [0x5a; 16],
            client_challenge: [0xaa; 8],
        }
    }

    fn negotiate(&self) -> Vec<u8> {
        let mut m = b"NTLMSSP\0".to_vec();
        m.extend_from_slice(&1u32.to_le_bytes());
        m.extend_from_slice(&self.flags.to_le_bytes());
        m.extend_from_slice(&[0; 16]);
        m.extend_from_slice(&ntlm::VERSION);
        m
    }

    /// Returns the AUTHENTICATE message and the key the client exports.
    fn authenticate(&self, negotiate: &[u8], challenge: &[u8]) -> (Vec<u8>, [u8; 16]) {
        let server_challenge: [u8; 8] = challenge[24..32].try_into().unwrap();
        let flags = u32::from_le_bytes(challenge[20..24].try_into().unwrap()) & self.flags;
        let info_len = u16::from_le_bytes(challenge[40..42].try_into().unwrap()) as usize;
        let info_off = u32::from_le_bytes(challenge[44..48].try_into().unwrap()) as usize;
        let info = &challenge[info_off..info_off + info_len];
        let ts = ntlm::find_av(info, ntlm::MSV_AV_TIMESTAMP).unwrap();
        let mut pairs = info[..info.len() - 4].to_vec(); // without EOL
        if self.mic {
            pairs.extend_from_slice(&[6, 0, 4, 0, 2, 0, 0, 0]);
        }
        pairs.extend_from_slice(&[0; 4]);
        let mut blob = vec![1, 1, 0, 0, 0, 0, 0, 0];
        blob.extend_from_slice(ts);
        blob.extend_from_slice(&self.client_challenge);
        blob.extend_from_slice(&[0; 4]);
        blob.extend_from_slice(&pairs);
        blob.extend_from_slice(&[0; 4]);
        let hash_domain = self.hash_domain.as_deref().unwrap_or(&self.domain);
        let key = ntlm::ntowfv2(&self.password, &self.user, hash_domain);
        let proof = ntlm::nt_proof(&key, &server_challenge, &blob);
        let base = ntlm::session_base_key(&key, &proof);
        let mut nt = proof.to_vec();
        nt.extend_from_slice(&blob);
        let mut lm = ntlm::hmac_md5(&key, &[&server_challenge, &self.client_challenge]).to_vec();
        lm.extend_from_slice(&self.client_challenge);
        let (enc, exported) = if flags & ntlm::NEGOTIATE_KEY_EXCH != 0 {
            (ntlm::rc4_16(&base, &self.random_key).to_vec(), self.random_key)
        } else {
            (Vec::new(), base)
        };
        let fields: Vec<Vec<u8>> = vec![lm, nt, utf16le(&self.domain), utf16le(&self.user), utf16le("CLIENT"), enc];
        let msg = build_authenticate(flags, &fields);
        let mut msg = msg;
        if self.mic {
            let mic = ntlm::message_mic(&exported, negotiate, challenge, &msg).unwrap();
            msg[72..88].copy_from_slice(&mic);
        }
        (msg, exported)
    }
}

/// AUTHENTICATE with Version and MIC; fields in wire order
/// LM, NT, Domain, User, Workstation, EncryptedRandomSessionKey.
fn build_authenticate(flags: u32, fields: &[Vec<u8>]) -> Vec<u8> {
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend_from_slice(&3u32.to_le_bytes());
    let mut offset = 88usize;
    for f in fields {
        m.extend_from_slice(&(f.len() as u16).to_le_bytes());
        m.extend_from_slice(&(f.len() as u16).to_le_bytes());
        m.extend_from_slice(&(offset as u32).to_le_bytes());
        offset += f.len();
    }
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(&ntlm::VERSION);
    m.extend_from_slice(&[0; 16]);
    for f in fields {
        m.extend_from_slice(f);
    }
    m
}

fn mech_types_der() -> Vec<u8> {
    der::tlv(der::SEQUENCE, &der::tlv(der::OID, spnego::OID_NTLMSSP))
}

fn init_token(mech_types: &[u8], mech_token: Option<&[u8]>) -> Vec<u8> {
    let mut fields = der::tlv(der::ctx(0), mech_types);
    if let Some(t) = mech_token {
        fields.extend(der::tlv(der::ctx(2), &der::tlv(der::OCTET_STRING, t)));
    }
    let init = der::tlv(der::ctx(0), &der::tlv(der::SEQUENCE, &fields));
    der::constructed(der::APPLICATION_0, &[&der::tlv(der::OID, spnego::OID_SPNEGO), &init])
}

fn resp_token(token: &[u8], mic: Option<&[u8]>) -> Vec<u8> {
    spnego::neg_token_resp(spnego::ACCEPT_INCOMPLETE, false, Some(token), mic)
}

/// Unwraps the responseToken / mechListMIC of a server NegTokenResp.
fn server_resp(token: &[u8]) -> (Option<Vec<u8>>, Option<Vec<u8>>, u8) {
    let (outer, _) = der::expect(token, der::ctx(1)).unwrap();
    let (seq, _) = der::expect(outer.value, der::SEQUENCE).unwrap();
    let (mut rt, mut mic, mut state) = (None, None, 0xff);
    for item in der::items(seq.value) {
        let item = item.unwrap();
        let (inner, _) = der::read(item.value).unwrap();
        match item.tag & 0x1f {
            0 => state = inner.value[0],
            2 => rt = Some(inner.value.to_vec()),
            3 => mic = Some(inner.value.to_vec()),
            _ => {}
        }
    }
    (rt, mic, state)
}

/// Runs the whole exchange; returns the final step and the client's key.
fn run(client: &Client, au: &AuthUsers) -> (Result<AuthStep, AuthError>, [u8; 16]) {
    let mut acc = NtlmAcceptor::new(CHALLENGE, TIME);
    let neg = client.negotiate();
    let mech_types = mech_types_der();
    let first = if client.spnego { init_token(&mech_types, Some(&neg)) } else { neg.clone() };
    let Ok(AuthStep::Continue { token }) = acc.step(au, &first) else { panic!("expected Continue") };
    let challenge = if client.spnego {
        let (rt, mic, state) = server_resp(&token);
        assert_eq!((mic, state), (None, spnego::ACCEPT_INCOMPLETE));
        rt.unwrap()
    } else {
        token
    };
    let (auth, key) = client.authenticate(&neg, &challenge);
    let flags = u32::from_le_bytes(auth[60..64].try_into().unwrap());
    let second = if client.spnego {
        let mic = ntlm::mac(&key, flags, ntlm::Direction::ClientToServer, 0, &mech_types);
        resp_token(&auth, Some(&mic))
    } else {
        auth
    };
    (acc.step(au, &second), key)
}

#[test]
fn user_round_trip_with_key_exchange_and_mics() {
    let list = users_list();
    for guest in [false, true] {
        let (step, key) = run(&Client::new("alice", "Secret1"), &users(&list, guest));
        let AuthStep::Done { token, identity, session_key } = step.unwrap() else { panic!() };
        assert_eq!(identity, Identity::User("alice".into()));
        assert_eq!(session_key, Some([0x5a; 16]));
        assert_eq!(key, [0x5a; 16]);
        let (rt, mic, state) = server_resp(&token);
        assert_eq!((rt, state), (None, spnego::ACCEPT_COMPLETED));
        let expect = ntlm::mac(&key, CLIENT_FLAGS, ntlm::Direction::ServerToClient, 0, &mech_types_der());
        assert_eq!(mic, Some(expect.to_vec()), "server mechListMIC");
    }
}

#[test]
fn without_key_exchange_the_session_key_is_the_base_key() {
    let list = users_list();
    let mut c = Client::new("ALICE", "Secret1");
    c.flags &= !ntlm::NEGOTIATE_KEY_EXCH;
    let (step, key) = run(&c, &users(&list, false));
    let AuthStep::Done { identity, session_key, .. } = step.unwrap() else { panic!() };
    assert_eq!(identity, Identity::User("alice".into()), "names match case-insensitively");
    assert_eq!(session_key, Some(key));
    assert_ne!(key, [0x5a; 16]);
}

#[test]
fn nil_domain_and_raw_ntlmssp() {
    let list = users_list();
    let mut c = Client::new("alice", "Secret1");
    c.hash_domain = Some(String::new());
    c.spnego = false;
    let (step, _) = run(&c, &users(&list, false));
    let AuthStep::Done { token, identity, .. } = step.unwrap() else { panic!() };
    assert_eq!(identity, Identity::User("alice".into()));
    assert!(token.is_empty(), "raw NTLMSSP gets no SPNEGO wrapper");
}

#[test]
fn wrong_password_fails_even_with_guest() {
    let list = users_list();
    for guest in [false, true] {
        let (step, _) = run(&Client::new("alice", "wrong"), &users(&list, guest));
        assert_eq!(step, Err(AuthError::LogonFailure));
    }
    let mut c = Client::new("alice", "Secret1");
    c.hash_domain = Some("OTHER".into());
    assert_eq!(run(&c, &users(&list, true)).0, Err(AuthError::LogonFailure));
}

#[test]
fn unknown_user_is_guest_when_allowed() {
    let list = users_list();
    let (step, _) = run(&Client::new("root", ""), &users(&list, true));
    let AuthStep::Done { identity, session_key, token } = step.unwrap() else { panic!() };
    assert_eq!((identity, session_key), (Identity::Guest, None));
    assert_eq!(server_resp(&token), (None, None, spnego::ACCEPT_COMPLETED));
    assert_eq!(run(&Client::new("root", "x"), &users(&list, false)).0, Err(AuthError::LogonFailure));
}

#[test]
fn known_user_with_empty_password_is_guest_when_allowed() {
    let list = users_list();
    let (step, _) = run(&Client::new("alice", ""), &users(&list, true));
    assert!(matches!(step, Ok(AuthStep::Done { identity: Identity::Guest, session_key: None, .. })));
    assert_eq!(run(&Client::new("alice", ""), &users(&list, false)).0, Err(AuthError::LogonFailure));
    // A user whose configured password is empty logs in as that user.
    let (step, _) = run(&Client::new("nopass", ""), &users(&list, false));
    assert!(
        matches!(step, Ok(AuthStep::Done { identity: Identity::User(ref u), session_key: Some(_), .. }) if u == "nopass")
    );
}

/// Empty user, empty NT response, LM = Z(1) (MS-NLMP 3.3.2 anonymous).
fn anonymous_exchange(au: &AuthUsers) -> Result<AuthStep, AuthError> {
    let mut acc = NtlmAcceptor::new(CHALLENGE, TIME);
    let mut c = Client::new("", "");
    c.flags |= ntlm::NEGOTIATE_ANONYMOUS;
    acc.step(au, &init_token(&mech_types_der(), Some(&c.negotiate())))?;
    let flags = (CLIENT_FLAGS | ntlm::NEGOTIATE_ANONYMOUS) & !ntlm::NEGOTIATE_KEY_EXCH;
    let auth = build_authenticate(flags, &[vec![0], vec![], vec![], vec![], utf16le("CLIENT"), vec![]]);
    acc.step(au, &resp_token(&auth, None))
}

#[test]
fn anonymous_only_when_guest_allowed() {
    let list = users_list();
    let step = anonymous_exchange(&users(&list, true)).unwrap();
    assert!(matches!(step, AuthStep::Done { identity: Identity::Anonymous, session_key: None, .. }));
    assert_eq!(anonymous_exchange(&users(&list, false)), Err(AuthError::LogonFailure));
}

#[test]
fn ntlmv1_is_refused() {
    let list = users_list();
    let au = users(&list, true);
    let mut acc = NtlmAcceptor::new(CHALLENGE, TIME);
    acc.step(&au, &Client::new("alice", "Secret1").negotiate()).unwrap();
    let auth = build_authenticate(0xe208_8215, &[vec![1; 24], vec![2; 24], vec![], utf16le("alice"), vec![], vec![]]);
    assert_eq!(acc.step(&au, &auth), Err(AuthError::LogonFailure));
}

#[test]
fn tampered_mic_and_mech_list_mic_fail() {
    let list = users_list();
    let au = users(&list, false);
    let c = Client::new("alice", "Secret1");
    let neg = c.negotiate();
    // NTLM MIC.
    let mut acc = NtlmAcceptor::new(CHALLENGE, TIME);
    let Ok(AuthStep::Continue { token }) = acc.step(&au, &init_token(&mech_types_der(), Some(&neg))) else { panic!() };
    let challenge = server_resp(&token).0.unwrap();
    let (mut auth, key) = c.authenticate(&neg, &challenge);
    auth[80] ^= 1;
    assert_eq!(acc.step(&au, &resp_token(&auth, None)), Err(AuthError::LogonFailure));
    // mechListMIC.
    let mut acc = NtlmAcceptor::new(CHALLENGE, TIME);
    acc.step(&au, &init_token(&mech_types_der(), Some(&neg))).unwrap();
    let (auth, _) = c.authenticate(&neg, &challenge);
    let mut mic = ntlm::mac(&key, CLIENT_FLAGS, ntlm::Direction::ClientToServer, 0, &mech_types_der());
    mic[5] ^= 1;
    assert_eq!(acc.step(&au, &resp_token(&auth, Some(&mic))), Err(AuthError::LogonFailure));
}

#[test]
fn ntlm_not_first_mechanism() {
    // mechTypes [MS-KRB5, NTLMSSP] with a Kerberos optimistic token.
    let list = users_list();
    let au = users(&list, false);
    let krb = hex("2a864882f712010202");
    let mech_types =
        der::constructed(der::SEQUENCE, &[&der::tlv(der::OID, &krb), &der::tlv(der::OID, spnego::OID_NTLMSSP)]);
    let mut acc = NtlmAcceptor::new(CHALLENGE, TIME);
    let Ok(AuthStep::Continue { token }) = acc.step(&au, &init_token(&mech_types, Some(b"\x60\x00"))) else { panic!() };
    assert_eq!(token, spnego::neg_token_resp(spnego::ACCEPT_INCOMPLETE, true, None, None));
    let c = Client::new("alice", "Secret1");
    let neg = c.negotiate();
    let Ok(AuthStep::Continue { token }) = acc.step(&au, &resp_token(&neg, None)) else { panic!() };
    let challenge = server_resp(&token).0.unwrap();
    let (auth, key) = c.authenticate(&neg, &challenge);
    let Ok(AuthStep::Done { token, identity, .. }) = acc.step(&au, &resp_token(&auth, None)) else { panic!() };
    assert_eq!(identity, Identity::User("alice".into()));
    let expect = ntlm::mac(&key, CLIENT_FLAGS, ntlm::Direction::ServerToClient, 0, &mech_types);
    assert_eq!(server_resp(&token).1, Some(expect.to_vec()), "mechListMIC required when NTLM was not first");
}

#[test]
fn spec_authenticate_message_through_acceptor() {
    // MS-NLMP 4.2.4: "User"/"Domain"/"Password", RandomSessionKey 0x55.
    let list = vec![User::new("User", "Password")];
    let au = AuthUsers { users: &list, guest: false, domain: "Domain", server_name: "Server" };
    let mut acc = NtlmAcceptor::new(CHALLENGE, 0);
    let mut neg = b"NTLMSSP\0\x01\0\0\0".to_vec();
    neg.extend_from_slice(&0xe288_8235u32.to_le_bytes());
    neg.extend_from_slice(&[0; 16]);
    assert!(matches!(acc.step(&au, &neg), Ok(AuthStep::Continue { .. })));
    let step = acc.step(&au, &ntlm::tests::spec_authenticate()).unwrap();
    assert_eq!(
        step,
        AuthStep::Done { token: Vec::new(), identity: Identity::User("User".into()), session_key: Some([0x55; 16]) }
    );
}

#[test]
fn out_of_order_messages() {
    let list = users_list();
    let au = users(&list, true);
    let c = Client::new("alice", "Secret1");
    let mut acc = NtlmAcceptor::new(CHALLENGE, TIME);
    let auth = build_authenticate(CLIENT_FLAGS, &[vec![], vec![], vec![], vec![], vec![], vec![]]);
    assert!(matches!(acc.step(&au, &auth), Err(AuthError::InvalidToken(_))));
    let mut acc = NtlmAcceptor::new(CHALLENGE, TIME);
    acc.step(&au, &c.negotiate()).unwrap();
    assert!(matches!(acc.step(&au, &c.negotiate()), Err(AuthError::InvalidToken(_))));
    let (_, _) = run(&c, &au);
    assert!(matches!(acc.step(&au, &[0u8; 70_000]), Err(AuthError::InvalidToken(_))));
}

#[test]
fn users_from_config() {
    let smb = crate::config::SmbConfig {
        users: users_list(),
        guest: false,
        domain: "WORKGROUP".into(),
        ..Default::default()
    };
    let au = AuthUsers::from_config(&smb);
    assert_eq!((au.users.len(), au.guest, au.domain), (3, false, "WORKGROUP"));
    let (step, _) = run(&Client::new("alice", "Secret1"), &au);
    assert!(matches!(step, Ok(AuthStep::Done { identity: Identity::User(_), .. })));
}

#[test]
fn negotiate_token_offers_ntlm() {
    let t = negotiate_token();
    assert!(matches!(spnego::parse(&t), Ok(spnego::ClientToken::Init { offers_ntlm: true, ntlm_first: true, .. })));
}

#[test]
fn challenge_flags_echo_client() {
    let f = challenge_flags(CLIENT_FLAGS);
    assert_eq!(f & ntlm::NEGOTIATE_KEY_EXCH, ntlm::NEGOTIATE_KEY_EXCH);
    assert_eq!(f & ntlm::NEGOTIATE_OEM, 0);
    assert_ne!(f & ntlm::NEGOTIATE_TARGET_INFO, 0);
    let f = challenge_flags(ntlm::NEGOTIATE_OEM);
    assert_eq!(f & (ntlm::NEGOTIATE_UNICODE | ntlm::NEGOTIATE_KEY_EXCH | ntlm::NEGOTIATE_OEM), ntlm::NEGOTIATE_OEM);
}

quickcheck! {
    fn step_never_panics(first: Vec<u8>, second: Vec<u8>) -> bool {
        let list = users_list();
        let au = users(&list, true);
        let mut acc = NtlmAcceptor::new(CHALLENGE, TIME);
        let _ = acc.step(&au, &first);
        let _ = acc.step(&au, &second);
        true
    }

    fn mutated_authenticate_never_panics(at: usize, byte: u8, cut: usize) -> bool {
        let list = users_list();
        let au = users(&list, true);
        let c = Client::new("alice", "Secret1");
        let mut acc = NtlmAcceptor::new(CHALLENGE, TIME);
        let neg = c.negotiate();
        let Ok(AuthStep::Continue { token }) = acc.step(&au, &neg) else { return false };
        let (mut auth, _) = c.authenticate(&neg, &token);
        let i = at % auth.len();
        auth[i] ^= byte | 1;
        auth.truncate(auth.len() - cut % 8);
        let wrapped = resp_token(&auth, Some(&[byte; 16]));
        let _ = acc.step(&au, &wrapped);
        true
    }

    fn mutated_spnego_never_panics(at: usize, byte: u8) -> bool {
        let list = users_list();
        let au = users(&list, true);
        let mut t = init_token(&mech_types_der(), Some(&Client::new("a", "b").negotiate()));
        let i = at % t.len();
        t[i] = byte;
        let mut acc = NtlmAcceptor::new(CHALLENGE, TIME);
        let _ = acc.step(&au, &t);
        true
    }
}

/// A capture from pyspnego 0.12.4 (an independent NTLM/SPNEGO client) logging
/// in as alice/Secret1 against this acceptor; pyspnego accepted the final
/// token (our mechListMIC) and reported the same session key.
#[test]
fn pyspnego_capture_replays() {
    let list = users_list();
    let au = users(&list, true);
    let tok1 = hex("
        604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d53535000010000003782
        08e200000000280000000000000028000000000c04000000000f");
    let tok2 = hex("
        a18201733082016fa0030a0101a28201520482014e4e544c4d53535000030000001800180058000000c000c000700000
        0000000000300100000a000a0030010000040004003a010000100010003e01000035828ae2000c04000000000f259263
        ca11b06f1714ead0cebc953fca000000000000000000000000000000000000000000000000ebe382c9be2718c17587c8
        155cd198a7010100000000000000000000007adc0179932134d6bffc1a000000000200120057004f0052004b00470052
        004f00550050000100120050004f004c005900530048004100520045000400120077006f0072006b00670072006f0075
        0070000300120070006f006c007900730068006100720065000700080000000000007adc0109001c0068006f00730074
        002f0070006f006c007900730068006100720065000600040002000000000000000000000061006c0069006300650056
        004d0099d6757ca0e2b911d007b2eee077cb35a312041001000000e3c1f69e2107a8bb00000000");
    let mut acc = NtlmAcceptor::new(CHALLENGE, TIME);
    assert!(matches!(acc.step(&au, &tok1), Ok(AuthStep::Continue { .. })));
    let step = acc.step(&au, &tok2).unwrap();
    let AuthStep::Done { token, identity, session_key } = step else { panic!() };
    assert_eq!(identity, Identity::User("alice".into()));
    assert_eq!(session_key.unwrap().to_vec(), hex("16a0dde37f270b457e3d1c9d8a449b88"));
    assert_eq!(token, hex("a11b3019a0030a0100a312041001000000f04b6b71e4766ccc00000000"));
    // The same AUTHENTICATE with another password fails.
    let list = vec![User::new("alice", "Secret2")];
    let mut acc = NtlmAcceptor::new(CHALLENGE, TIME);
    acc.step(&users(&list, true), &tok1).unwrap();
    assert_eq!(acc.step(&users(&list, true), &tok2), Err(AuthError::LogonFailure));
}

/// Replays a login by Samba 4.17's gensec SPNEGO/NTLMSSP client (the code
/// smbclient uses), captured against this acceptor; Samba accepted each
/// final token. Returns the final step.
fn replay_samba(tok1: &str, tok2: &str) -> Result<AuthStep, AuthError> {
    let list = users_list();
    let au = users(&list, true);
    let mut acc = NtlmAcceptor::new(CHALLENGE, TIME);
    assert!(matches!(acc.step(&au, &hex(tok1)), Ok(AuthStep::Continue { .. })));
    acc.step(&au, &hex(tok2))
}

#[test]
fn samba_client_user_capture_replays() {
    let step = replay_samba(
        "
        604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d53535000010000001582
        086200000000280000000000000028000000060100000000000f",
        "
        a18201c4308201c0a28201a8048201a44e544c4d53535000030000001800180058000000040104017000000012001200
        740100000a000a00860100000400040090010000100010009401000015820862060100000000000ffe89d361729a45d4
        42af3652e38949530000000000000000000000000000000000000000000000008533a5bd9b2dd5b0fb96db4ccc32b6a3
        010100000000000000000000007adc01df52cbe4ddd4d65d000000000200120057004f0052004b00470052004f005500
        50000100120050004f004c005900530048004100520045000400120077006f0072006b00670072006f00750070000300
        120070006f006c007900730068006100720065000700080000000000007adc0106000400020000000800300030000000
        00000000000000000000000086691446ff872218d08ad1c5b7a2e86df77dfc2bd8eba7e5786c92ee24a1d5ed0a001000
        0000000000000000000000000000000009001c0068006f00730074002f0070006f006c00790073006800610072006500
        0000000057004f0052004b00470052004f005500500061006c0069006300650056004d00834ebf4d2b74a8504218b7bd
        88a2a672a31204100100000061979e5d0a5a2f6700000000",
    );
    let Ok(AuthStep::Done { token, identity, session_key }) = step else { panic!("{step:?}") };
    assert_eq!(identity, Identity::User("alice".into()));
    // The key Samba's client reported.
    assert_eq!(session_key.unwrap().to_vec(), hex("0147be077938cd1d4eccff287ac3493c"));
    assert_eq!(token, hex("a11b3019a0030a0100a312041001000000340c68606eeec9cb00000000"));
}

#[test]
fn samba_client_guest_and_anonymous_captures_replay() {
    // smbclient -N style: login name "root", empty password (unknown user).
    // Like smbd, no mechListMIC in the final token (Samba accepts that when
    // it did not ask for signing).
    let step = replay_samba(
        "
        604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d53535000010000001582
        086200000000280000000000000028000000060100000000000f",
        "
        a18201c2308201bea28201a6048201a24e544c4d53535000030000001800180058000000040104017000000012001200
        740100000800080086010000040004008e010000100010009201000015820862060100000000000f89473a75b22722b0
        11dedf1ba7268595000000000000000000000000000000000000000000000000f954b254dfc6b0dfbcac9724580825f7
        010100000000000000000000007adc015ca6322de45f0d6e000000000200120057004f0052004b00470052004f005500
        50000100120050004f004c005900530048004100520045000400120077006f0072006b00670072006f00750070000300
        120070006f006c007900730068006100720065000700080000000000007adc0106000400020000000800300030000000
        00000000000000000000000020288441ea3c3c627c9db7c77e87c726167a5c955811667328ff4f6cf81010db0a001000
        0000000000000000000000000000000009001c0068006f00730074002f0070006f006c00790073006800610072006500
        0000000057004f0052004b00470052004f005500500072006f006f00740056004d004f392c868ae1feb3f059aec2ca09
        1832a312041001000000bb478bb994cf8cd200000000",
    );
    assert_eq!(
        step,
        Ok(AuthStep::Done { token: hex("a1073005a0030a0100"), identity: Identity::Guest, session_key: None })
    );
    // Anonymous credentials.
    let step = replay_samba(
        "
        604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d53535000010000001582
        086200000000280000000000000028000000060100000000000f",
        "
        a1723070a26e046c4e544c4d535350000300000000000000580000000000000058000000000000005800000000000000
        580000000400040058000000100010005c000000158a0062060100000000000f291db2cd9093b1aab1da8aef4063cae7
        56004d00576106b8f21a5cb01db78360d3d930e7",
    );
    assert_eq!(
        step,
        Ok(AuthStep::Done { token: hex("a1073005a0030a0100"), identity: Identity::Anonymous, session_key: None })
    );
}
