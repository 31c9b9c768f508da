//! End-to-end check of NTLM key derivation, the 3.1.1 preauth hash, the KDF
//! and signature verification against messages smbd signed (captured from
//! smbclient -> smbd 4.17 over loopback, dialects 3.1.1 with AES-GMAC,
//! 3.0 with AES-CMAC, 2.1 with HMAC-SHA256).

use super::*;
use crate::smb::auth::{ntlm, spnego};
use crate::smb::kdf;
use crate::smb::preauth::PreauthHash;

const CAPTURE: &str = include_str!("samba_capture.txt");

fn messages(dialect: &str) -> Vec<Vec<u8>> {
    capture_messages(CAPTURE, dialect)
}

/// The messages of capture `tag` in a capture file (`tag name hex` lines).
pub(crate) fn capture_messages(capture: &str, tag: &str) -> Vec<Vec<u8>> {
    capture
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split(' ');
            (f.next() == Some(tag)).then(|| {
                let h = f.nth(1).unwrap();
                (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect()
            })
        })
        .collect()
}

fn u16_at(m: &[u8], at: usize) -> usize {
    usize::from(crate::smb::wire::codec::u16_at(m, at).unwrap())
}

/// The NTLM token inside a SESSION_SETUP security buffer.
fn ntlm_token(m: &[u8], request: bool) -> Vec<u8> {
    let at = if request { 64 + 12 } else { 64 + 4 };
    let (off, len) = (u16_at(m, at), u16_at(m, at + 2));
    match spnego::parse(&m[off..off + len]).unwrap() {
        spnego::ClientToken::Resp { response_token: Some(t), .. } => t.to_vec(),
        other => panic!("{other:?}"),
    }
}

/// The ExportedSessionKey, computed as a server would from the password.
fn session_key(msgs: &[Vec<u8>]) -> [u8; 16] {
    exported_session_key(msgs, "root", "Secret1")
}

/// The ExportedSessionKey of a capture whose messages 3 and 4 are the
/// CHALLENGE and AUTHENTICATE legs, computed from `user`'s `password`.
pub(crate) fn exported_session_key(msgs: &[Vec<u8>], user: &str, password: &str) -> [u8; 16] {
    let challenge = ntlm_token(&msgs[3], false);
    let server_challenge: [u8; 8] = challenge[24..32].try_into().unwrap();
    let auth_msg = ntlm_token(&msgs[4], true);
    let a = ntlm::parse_authenticate(&auth_msg).unwrap();
    assert_eq!(a.user, user);
    let (proof, blob) = a.nt_response.split_at(16);
    let key = [a.domain.as_str(), ""]
        .iter()
        .map(|d| ntlm::ntowfv2(password, &a.user, d))
        .find(|k| ntlm::nt_proof(k, &server_challenge, blob) == proof)
        .expect("NTLMv2 response verifies");
    let base = ntlm::session_base_key(&key, proof.try_into().unwrap());
    assert_ne!(a.flags & ntlm::NEGOTIATE_KEY_EXCH, 0);
    ntlm::rc4_16(&base, a.encrypted_session_key.try_into().unwrap())
}

fn check_signed(algo: SigningAlgorithm, key: &[u8; 16], msgs: &[Vec<u8>]) {
    // Final SESSION_SETUP response, TREE_CONNECT request and response.
    for m in &msgs[5..8] {
        assert_ne!(m[16] & 0x08, 0, "signed");
        assert!(verify(algo, key, m), "{algo:?} signature of command {}", m[12]);
        let mut resigned = m.clone();
        resigned[48..64].fill(0);
        sign(algo, key, &mut resigned);
        assert_eq!(&resigned, m);
        let mut tampered = m.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(!verify(algo, key, &tampered));
    }
}

#[test]
fn smb311_gmac_preauth_and_kdf_match_smbd() {
    let msgs = messages("0x311");
    assert_eq!(msgs.len(), 8);
    let key = session_key(&msgs);
    let mut connection = PreauthHash::new();
    connection.update(&msgs[0]);
    connection.update(&msgs[1]);
    let mut session = connection.clone();
    for m in &msgs[2..5] {
        session.update(m);
    }
    let signing = kdf::signing_key(kdf::DIALECT_311, &key, Some(session.value()));
    check_signed(SigningAlgorithm::AesGmac, &signing, &msgs);
    // Without the last SESSION_SETUP request in the hash, nothing verifies.
    let mut short = connection.clone();
    short.update(&msgs[2]);
    short.update(&msgs[3]);
    let wrong = kdf::signing_key(kdf::DIALECT_311, &key, Some(short.value()));
    assert!(!verify(SigningAlgorithm::AesGmac, &wrong, &msgs[5]));
    assert!(!verify(SigningAlgorithm::AesCmac, &signing, &msgs[5]));
}

#[test]
fn smb30_cmac_matches_smbd() {
    let msgs = messages("0x300");
    let key = session_key(&msgs);
    check_signed(SigningAlgorithm::AesCmac, &kdf::signing_key(kdf::DIALECT_300, &key, None), &msgs);
}

#[test]
fn smb21_hmac_sha256_matches_smbd() {
    let msgs = messages("0x210");
    let key = session_key(&msgs);
    check_signed(SigningAlgorithm::HmacSha256, &kdf::signing_key(kdf::DIALECT_210, &key, None), &msgs);
}
