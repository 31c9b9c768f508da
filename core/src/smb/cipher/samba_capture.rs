//! Golden check against smbd: the first sealed request and response of
//! smbclient -> smbd 4.17 sessions (SMB 3.0 with AES-128-CCM, 3.1.1 with
//! AES-128-GCM, AES-256-CCM and AES-256-GCM), decrypted with keys derived here from the
//! password (NTLM, the 3.1.1 preauth hash, the KDF with L = 256 for
//! AES-256), and sealed again to the same bytes.

use super::*;
use crate::smb::kdf;
use crate::smb::preauth::PreauthHash;
use crate::smb::signing::samba_capture::{capture_messages, exported_session_key};

const CAPTURE: &str = include_str!("samba_capture.txt");

/// Decrypts the capture's sealed request with the server's DecryptionKey
/// and its sealed response with its EncryptionKey; each re-seals to the
/// bytes smbclient and smbd sent; a flipped byte does not decrypt.
fn check(tag: &str, dialect: u16, cipher: Cipher) {
    let msgs = capture_messages(CAPTURE, tag);
    assert_eq!(msgs.len(), 8, "{tag}");
    let key = exported_session_key(&msgs, "polyenc", "Secret-Pw1");
    let preauth = (dialect == kdf::DIALECT_311).then(|| {
        let mut h = PreauthHash::new();
        // NEGOTIATE, then the session's SESSION_SETUPs up to the last request.
        msgs[..5].iter().for_each(|m| h.update(m));
        *h.value()
    });
    let keys = kdf::session_cipher(dialect, cipher, &key, preauth.as_ref()).unwrap();
    for (sealed, k, command) in [(&msgs[6], &keys.decrypt, 3u16), (&msgs[7], &keys.encrypt, 3u16)] {
        let mut frame = sealed.clone();
        let h = unseal(k, &mut frame).unwrap_or_else(|e| panic!("{tag}: {e:?}"));
        let inner = &frame[TRANSFORM_HEADER_LEN..];
        assert_eq!(inner[..4], [0xFE, b'S', b'M', b'B'], "{tag}");
        assert_eq!(u16::from_le_bytes([inner[12], inner[13]]), command, "{tag}: TREE_CONNECT inside");
        let mut again = inner.to_vec();
        let header = seal(k, h.nonce, h.session_id, &mut again).unwrap();
        assert_eq!(header[..], sealed[..TRANSFORM_HEADER_LEN], "{tag}: header and tag");
        assert_eq!(again[..], sealed[TRANSFORM_HEADER_LEN..], "{tag}: ciphertext");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(unseal(k, &mut tampered), Err(UnsealError::Authentication), "{tag}");
    }
    // The other direction's key does not open the request.
    assert!(unseal(&keys.encrypt, &mut msgs[6].clone()).is_err(), "{tag}");
}

#[test]
fn smb30_aes_128_ccm_matches_smbd() {
    check("300-aes-128-ccm", kdf::DIALECT_300, Cipher::Aes128Ccm);
}

#[test]
fn smb311_aes_128_gcm_matches_smbd() {
    check("311-aes-128-gcm", kdf::DIALECT_311, Cipher::Aes128Gcm);
}

#[test]
fn smb311_aes_256_gcm_matches_smbd() {
    check("311-aes-256-gcm", kdf::DIALECT_311, Cipher::Aes256Gcm);
}

#[test]
fn smb311_aes_256_ccm_matches_smbd() {
    check("311-aes-256-ccm", kdf::DIALECT_311, Cipher::Aes256Ccm);
}
