//! Decryption of whole TRANSFORM frames (`smb::cipher::unseal`, MS-SMB2
//! 3.3.5.2.1.1): never a panic; a frame that decrypts re-seals, with its
//! own nonce and SessionId, to exactly the same bytes; and the data sealed
//! under the input's key unseals back to itself and fails with any byte
//! flipped.
//!
//! Input: byte 0 picks the cipher (low two bits) and a byte to flip (the
//! rest), bytes 1..33 are key material (the cipher takes 16 or 32), the rest
//! is the frame: TRANSFORM_HEADER then ciphertext.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polyshare_core::smb::cipher::{Cipher, CipherKey, seal, unseal};
use polyshare_core::smb::wire::transform::TRANSFORM_HEADER_LEN;

fuzz_target!(|data: &[u8]| {
    let Some((&[sel], rest)) = data.split_first_chunk::<1>() else { return };
    let Some((key, frame)) = rest.split_first_chunk::<32>() else { return };
    let cipher = Cipher::ALL[usize::from(sel & 3)];
    let Some(key) = CipherKey::new(cipher, &key[..cipher.key_len()]) else { return };

    let mut f = frame.to_vec();
    // Reserved (bytes 40..42) is sent as zero: only such frames re-seal equal.
    if let (Ok(h), Some([0, 0])) = (unseal(&key, &mut f), frame.get(40..42)) {
        let mut plain = f[TRANSFORM_HEADER_LEN..].to_vec();
        let again = seal(&key, h.nonce, h.session_id, &mut plain).expect("seals");
        assert_eq!(again[..], frame[..TRANSFORM_HEADER_LEN], "header differs");
        assert_eq!(plain[..], frame[TRANSFORM_HEADER_LEN..], "ciphertext differs");
    }

    // The frame's bytes as a message, sealed and unsealed.
    if frame.is_empty() {
        return;
    }
    let mut nonce = [0u8; 16];
    nonce[..cipher.nonce_len()].copy_from_slice(&[sel; 12][..cipher.nonce_len()]);
    let mut msg = frame.to_vec();
    let header = seal(&key, nonce, 7, &mut msg).expect("seals");
    let mut sealed = header.to_vec();
    sealed.extend_from_slice(&msg);
    let mut t = sealed.clone();
    assert_eq!(unseal(&key, &mut t).map(|h| h.session_id), Ok(7));
    assert_eq!(t[TRANSFORM_HEADER_LEN..], frame[..]);
    // Every byte counts: ProtocolId is checked, the rest authenticated.
    let at = usize::from(sel >> 2) % sealed.len();
    sealed[at] ^= 0x01;
    assert!(unseal(&key, &mut sealed).is_err(), "flipped byte {at} accepted");
});
