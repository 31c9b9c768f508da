//! Known answers for each cipher, computed with Python's `cryptography`
//! (OpenSSL's AESCCM with a 16-byte tag and AESGCM): key 00 01 02 ..,
//! nonce counter 1, SessionId 0x1122334455667788, over [`MESSAGE`].

use super::*;
use quickcheck::quickcheck;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

const SESSION: u64 = 0x1122_3344_5566_7788;

/// A READ request header and a short body (97 bytes).
fn message() -> Vec<u8> {
    let mut m = hex(
        "fe534d4240000100000000000800010001000000000000000500000000000000\
         fffe000001000000887766554433221100000000000000000000000000000000",
    );
    m.extend_from_slice(b"polyshare sealed body: 0123456789");
    m
}

fn key(cipher: Cipher) -> CipherKey {
    let bytes: Vec<u8> = (0..cipher.key_len() as u8).collect();
    CipherKey::new(cipher, &bytes).unwrap()
}

fn nonce1() -> [u8; 16] {
    let mut n = [0u8; 16];
    n[0] = 1;
    n
}

const GOLDEN: [(Cipher, &str, &str); 4] = [
    (
        Cipher::Aes128Ccm,
        "b8ac9916387f84228ff45276347aa413",
        "80935508873c7d3274d46444e695f1a216f55e40ad7b02352c290eaf57f4fbdcfaca5c589767ed26b521e27fe6e476944665afe730e38e71b9963b4e526f14a050f29b28cd37764e91ebfb7e4b0f41e68f0cad91d8efb9db6082762c6b1c8afdab",
    ),
    (
        Cipher::Aes128Gcm,
        "9bbf79815b356cdc58f317e5e7d59ea9",
        "b2ee9447ddb6936e18a438db7dead78a81cad9df57866cec646af4e749369aa9cc65124fee947a5b6438c52fef04ffac32ae2c14091bdd562b40dda9979d27c1ae21c91c7058864476955bedfc4e54173439acd83c959479c47928f1601e786cbd",
    ),
    (
        Cipher::Aes256Ccm,
        "16bb077245c10d3c12ffa29ec6637ee2",
        "1943cd8a815adb658ad5460afe0d1b49b048783dc7fe468b17bae1c0699c1a0ee595a1224e5661ed454e184d1786541381e0fecac3667030597103a2f5a426b3b7a650421508ea2c37f0d9748d160289cc93bd7fad122fbbd11d7050f004714e3e",
    ),
    (
        Cipher::Aes256Gcm,
        "18aced433784e6bf42a78eb7b735b456",
        "1c7fcf7de4afed074a0405c334c189cbcd61cf2e7ca86b124b1f5dfe1d2687701302f0c921a2aecf50aa7b860a3a2299f0d5ce84e5705a978388e07217b42847ccc0c8eb60a893363564be2ddff8983a959187d318d228a6c2612b6f7f8b4335c3",
    ),
];

/// The whole sealed frame: TRANSFORM_HEADER then ciphertext.
fn sealed(cipher: Cipher) -> Vec<u8> {
    let mut m = message();
    let h = seal(&key(cipher), nonce1(), SESSION, &mut m).unwrap();
    let mut frame = h.to_vec();
    frame.extend_from_slice(&m);
    frame
}

#[test]
fn golden_seal_per_cipher() {
    for (cipher, tag, ct) in GOLDEN {
        let frame = sealed(cipher);
        let h = TransformHeader::decode(&frame).unwrap();
        assert_eq!(h.signature.to_vec(), hex(tag), "{cipher:?} tag");
        assert_eq!(frame[52..].to_vec(), hex(ct), "{cipher:?} ciphertext");
        assert_eq!(h.original_message_size, 97);
        assert_eq!(h.session_id, SESSION);
        assert_eq!(h.flags, 1);
    }
}

#[test]
fn golden_unseal_per_cipher() {
    for (cipher, tag, ct) in GOLDEN {
        let h = TransformHeader {
            signature: hex(tag).try_into().unwrap(),
            nonce: nonce1(),
            original_message_size: 97,
            flags: 1,
            session_id: SESSION,
        };
        let mut frame = h.encode().to_vec();
        frame.extend_from_slice(&hex(ct));
        assert_eq!(unseal(&key(cipher), &mut frame), Ok(h), "{cipher:?}");
        assert_eq!(frame[52..], message()[..], "{cipher:?}");
    }
}

#[test]
fn tampered_frames_are_rejected() {
    for cipher in Cipher::ALL {
        let frame = sealed(cipher);
        // Signature, Nonce, OriginalMessageSize, Flags, SessionId, ciphertext.
        for i in [4, 19, 20, 30, 36, 42, 44, 51, 52, 100, frame.len() - 1] {
            let mut t = frame.clone();
            t[i] ^= 0x01;
            assert!(unseal(&key(cipher), &mut t).is_err(), "{cipher:?} byte {i}");
        }
        // A nonce byte past the cipher's nonce is still authenticated data.
        let mut t = frame.clone();
        t[20 + 13] ^= 0x80;
        assert_eq!(unseal(&key(cipher), &mut t), Err(UnsealError::Authentication), "{cipher:?}");
        let mut other = key(cipher).bytes().to_vec();
        other[0] ^= 1;
        let mut t = frame.clone();
        assert_eq!(unseal(&CipherKey::new(cipher, &other).unwrap(), &mut t), Err(UnsealError::Authentication));
        let mut t = frame.clone();
        assert_eq!(unseal(&key(cipher), &mut t).map(|h| h.session_id), Ok(SESSION));
    }
}

#[test]
fn malformed_frames() {
    let k = key(Cipher::Aes128Gcm);
    let frame = sealed(Cipher::Aes128Gcm);
    assert_eq!(unseal(&k, &mut frame[..52].to_vec()), Err(UnsealError::Malformed));
    let mut t = frame.clone();
    t[0] = 0xFE;
    assert_eq!(unseal(&k, &mut t), Err(UnsealError::Malformed));
    let mut t = frame.clone();
    t[42] = 2;
    assert_eq!(unseal(&k, &mut t), Err(UnsealError::Flags));
    let mut t = frame.clone();
    t.push(0);
    assert_eq!(unseal(&k, &mut t), Err(UnsealError::Size));
}

#[test]
fn nonces_count_up_and_never_repeat() {
    let mut s = SessionCipher::new(key(Cipher::Aes128Gcm), key(Cipher::Aes128Gcm));
    let a = s.next_nonce().unwrap();
    let b = s.next_nonce().unwrap();
    assert_eq!(a, nonce1());
    assert_ne!(a, b);
    assert_eq!(b[0], 2);
    s.next_nonce = u64::MAX;
    assert!(s.next_nonce().is_none(), "the last counter value is never used");
    assert!(s.next_nonce().is_none());
}

#[test]
fn cipher_ids_and_key_lengths() {
    for c in Cipher::ALL {
        assert_eq!(Cipher::from_id(c.id()), Some(c));
    }
    assert_eq!(Cipher::from_id(0), None);
    assert_eq!(Cipher::from_id(5), None);
    assert!(CipherKey::new(Cipher::Aes256Gcm, &[0; 16]).is_none());
    assert!(CipherKey::new(Cipher::Aes128Ccm, &[0; 32]).is_none());
    assert!(!format!("{:?}", key(Cipher::Aes128Ccm)).contains("key:"), "no key in Debug");
}

quickcheck! {
    fn seal_unseal_roundtrip(body: Vec<u8>, counter: u64, sid: u64, which: u8) -> bool {
        let cipher = Cipher::ALL[usize::from(which % 4)];
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&counter.to_le_bytes());
        let mut m = message();
        m.extend_from_slice(&body);
        let plain = m.clone();
        let Some(h) = seal(&key(cipher), nonce, sid, &mut m) else { return false };
        let mut frame = h.to_vec();
        frame.extend_from_slice(&m);
        unseal(&key(cipher), &mut frame).is_ok() && frame[52..] == plain[..]
    }
}
