//! SMB 3.x key derivation (MS-SMB2 3.1.4.2, 3.2.5.3.1, 3.3.5.5.3).
//!
//! SP800-108 KDF in counter mode, PRF = HMAC-SHA256, r = 32, L = 128.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::cipher::{Cipher, CipherKey, SessionCipher};

pub const DIALECT_202: u16 = 0x0202;
pub const DIALECT_210: u16 = 0x0210;
pub const DIALECT_300: u16 = 0x0300;
pub const DIALECT_302: u16 = 0x0302;
pub const DIALECT_311: u16 = 0x0311;

/// KDF(Ki, Label, Context) = HMAC-SHA256(Ki, [i]_32 || Label || 0x00 || Context || [L]_32)[0..16]
/// with i = 1 and L = 128. `label` includes its trailing NUL, as in the spec.
pub fn smb3_kdf(key: &[u8; 16], label: &[u8], context: &[u8]) -> [u8; 16] {
    let full = kdf_block(key, label, context, 128);
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// The same KDF with L = 256: one HMAC-SHA256 block is the whole 32-byte
/// key an AES-256 cipher needs (MS-SMB2 3.3.5.5.3).
pub fn smb3_kdf_256(key: &[u8; 16], label: &[u8], context: &[u8]) -> [u8; 32] {
    kdf_block(key, label, context, 256)
}

fn kdf_block(key: &[u8; 16], label: &[u8], context: &[u8], bits: u32) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(&1u32.to_be_bytes());
    mac.update(label);
    mac.update(&[0]);
    mac.update(context);
    mac.update(&bits.to_be_bytes());
    mac.finalize().into_bytes().into()
}

fn derive(
    dialect: u16,
    session_key: &[u8; 16],
    preauth: Option<&[u8; 64]>,
    v30: (&[u8], &[u8]),
    v311: &[u8],
) -> [u8; 16] {
    match dialect {
        DIALECT_311 => smb3_kdf(session_key, v311, preauth.map_or(&[][..], |p| &p[..])),
        _ => smb3_kdf(session_key, v30.0, v30.1),
    }
}

/// Session.SigningKey: the session key itself for 2.0.2/2.1, else KDF-derived.
pub fn signing_key(dialect: u16, session_key: &[u8; 16], preauth: Option<&[u8; 64]>) -> [u8; 16] {
    if dialect < DIALECT_300 {
        return *session_key;
    }
    derive(dialect, session_key, preauth, (b"SMB2AESCMAC\0", b"SmbSign\0"), b"SMBSigningKey\0")
}

/// Session.EncryptionKey on the server: the key for messages it sends
/// (client's DecryptionKey). 3.x only.
pub fn encryption_key(dialect: u16, session_key: &[u8; 16], preauth: Option<&[u8; 64]>) -> [u8; 16] {
    derive(dialect, session_key, preauth, (b"SMB2AESCCM\0", b"ServerOut\0"), b"SMBS2CCipherKey\0")
}

/// Session.DecryptionKey on the server: the key for messages it receives.
pub fn decryption_key(dialect: u16, session_key: &[u8; 16], preauth: Option<&[u8; 64]>) -> [u8; 16] {
    derive(dialect, session_key, preauth, (b"SMB2AESCCM\0", b"ServerIn \0"), b"SMBC2SCipherKey\0")
}

/// Session.EncryptionKey and Session.DecryptionKey for `cipher`: 16-byte
/// keys as above, 32-byte ones (L = 256, same labels and context) for the
/// AES-256 ciphers of 3.1.1 (MS-SMB2 3.3.5.5.3).
pub fn session_cipher(
    dialect: u16,
    cipher: Cipher,
    session_key: &[u8; 16],
    preauth: Option<&[u8; 64]>,
) -> Option<SessionCipher> {
    let key = |v30: (&[u8], &[u8]), v311: &[u8]| {
        let (label, context) = match dialect {
            DIALECT_311 => (v311, preauth.map_or(&[][..], |p| &p[..])),
            _ => v30,
        };
        match cipher.key_len() {
            32 => CipherKey::new(cipher, &smb3_kdf_256(session_key, label, context)),
            _ => CipherKey::new(cipher, &smb3_kdf(session_key, label, context)),
        }
    };
    let encrypt = key((b"SMB2AESCCM\0", b"ServerOut\0"), b"SMBS2CCipherKey\0")?;
    let decrypt = key((b"SMB2AESCCM\0", b"ServerIn \0"), b"SMBC2SCipherKey\0")?;
    Some(SessionCipher::new(encrypt, decrypt))
}

/// Session.ApplicationKey (exported to RPC over named pipes).
pub fn application_key(dialect: u16, session_key: &[u8; 16], preauth: Option<&[u8; 64]>) -> [u8; 16] {
    if dialect < DIALECT_300 {
        return *session_key;
    }
    derive(dialect, session_key, preauth, (b"SMB2APP\0", b"SmbRpc\0"), b"SMBAppKey\0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }

    #[test]
    fn hmac_sha256_primitive_rfc4231_case2() {
        assert_eq!(
            hmac_sha256(b"Jefe", b"what do ya want for nothing?"),
            hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }

    #[test]
    fn kdf_input_layout() {
        let key = [0x11u8; 16];
        let mut input = vec![0, 0, 0, 1];
        input.extend_from_slice(b"SMB2AESCMAC\0");
        input.push(0);
        input.extend_from_slice(b"SmbSign\0");
        input.extend_from_slice(&[0, 0, 0, 0x80]);
        assert_eq!(smb3_kdf(&key, b"SMB2AESCMAC\0", b"SmbSign\0").to_vec(), hmac_sha256(&key, &input)[..16]);
    }

    /// The SMB 3.0 test vector of Microsoft's "SMB 2 and SMB 3 security in
    /// Windows 10: the anatomy of signing and cryptographic keys".
    #[test]
    fn smb30_microsoft_test_vector() {
        let key: [u8; 16] = hex("7cd451825d0450d235424e44ba6e78cc").try_into().unwrap();
        assert_eq!(signing_key(DIALECT_300, &key, None).to_vec(), hex("0b7e9c5cac36c0f6ea9ab275298cedce"));
        // The client's EncryptionKey is the server's DecryptionKey ("ServerIn ").
        assert_eq!(decryption_key(DIALECT_300, &key, None).to_vec(), hex("fad27796665b313ebb578f388632b4f7"));
        assert_eq!(encryption_key(DIALECT_300, &key, None).to_vec(), hex("b0f0427f7ceb416d1d9dcc0cd4f99447"));
        assert_eq!(application_key(DIALECT_300, &key, None).to_vec(), hex("bb23a4575aa26c721af525af15a87b4f"));
    }

    #[test]
    fn smb30_signing_key_golden() {
        // Computed with the `cryptography` package's KBKDFHMAC (counter
        // mode, as smbprotocol uses it) for SessionKey = 00..0f.
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        assert_eq!(signing_key(DIALECT_300, &key, None).to_vec(), hex(SMB30_SIGN));
        assert_eq!(signing_key(DIALECT_302, &key, None).to_vec(), hex(SMB30_SIGN));
    }

    #[test]
    fn smb311_signing_key_uses_preauth_hash() {
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let preauth: [u8; 64] = core::array::from_fn(|i| (i * 3) as u8);
        assert_eq!(signing_key(DIALECT_311, &key, Some(&preauth)).to_vec(), hex(SMB311_SIGN));
        assert_eq!(signing_key(DIALECT_311, &key, Some(&preauth)), smb3_kdf(&key, b"SMBSigningKey\0", &preauth));
        let other = [0u8; 64];
        assert_ne!(signing_key(DIALECT_311, &key, Some(&preauth)), signing_key(DIALECT_311, &key, Some(&other)));
    }

    #[test]
    fn smb2_signing_key_is_session_key() {
        let key = [7u8; 16];
        assert_eq!(signing_key(DIALECT_202, &key, None), key);
        assert_eq!(signing_key(DIALECT_210, &key, None), key);
    }

    #[test]
    fn cipher_keys_differ_by_direction() {
        let key = [7u8; 16];
        assert_ne!(encryption_key(DIALECT_300, &key, None), decryption_key(DIALECT_300, &key, None));
        assert_eq!(encryption_key(DIALECT_300, &key, None), smb3_kdf(&key, b"SMB2AESCCM\0", b"ServerOut\0"));
        assert_eq!(decryption_key(DIALECT_300, &key, None), smb3_kdf(&key, b"SMB2AESCCM\0", b"ServerIn \0"));
        let p = [1u8; 64];
        assert_eq!(encryption_key(DIALECT_311, &key, Some(&p)), smb3_kdf(&key, b"SMBS2CCipherKey\0", &p));
        assert_eq!(decryption_key(DIALECT_311, &key, Some(&p)), smb3_kdf(&key, b"SMBC2SCipherKey\0", &p));
        assert_eq!(application_key(DIALECT_300, &key, None), smb3_kdf(&key, b"SMB2APP\0", b"SmbRpc\0"));
    }

    #[test]
    fn session_cipher_keys_per_dialect_and_cipher() {
        let key: [u8; 16] = hex("7cd451825d0450d235424e44ba6e78cc").try_into().unwrap();
        // SMB 3.0: the Microsoft test vector's keys, AES-128-CCM.
        let s = session_cipher(DIALECT_300, Cipher::Aes128Ccm, &key, None).unwrap();
        assert_eq!(s.encrypt.bytes().to_vec(), hex("b0f0427f7ceb416d1d9dcc0cd4f99447"));
        assert_eq!(s.decrypt.bytes().to_vec(), hex("fad27796665b313ebb578f388632b4f7"));
        // 3.1.1 with AES-256: 32-byte keys from L = 256, computed with the
        // `cryptography` package's KBKDFHMAC (counter mode, r = 32, L = 256).
        let preauth: [u8; 64] = core::array::from_fn(|i| (i * 3) as u8);
        let s = session_cipher(DIALECT_311, Cipher::Aes256Gcm, &key, Some(&preauth)).unwrap();
        assert_eq!(s.encrypt.bytes().to_vec(), hex(SMB311_S2C_256));
        assert_eq!(s.decrypt.bytes().to_vec(), hex(SMB311_C2S_256));
        let s = session_cipher(DIALECT_311, Cipher::Aes128Gcm, &key, Some(&preauth)).unwrap();
        assert_eq!(s.encrypt.bytes(), &smb3_kdf(&key, b"SMBS2CCipherKey\0", &preauth)[..]);
        assert_eq!(s.decrypt.bytes(), &smb3_kdf(&key, b"SMBC2SCipherKey\0", &preauth)[..]);
        // The 16-byte key is not the first half of the 32-byte one: L differs.
        assert_ne!(&hex(SMB311_S2C_256)[..16], s.encrypt.bytes());
    }

    const SMB30_SIGN: &str = "6234814cbb8ea9227440ebfeb5eacbe1";
    const SMB311_SIGN: &str = "8c8e7df416b88e71864c5e2533c586f0";
    const SMB311_S2C_256: &str = "b1d098bf179574cef30d20d2719e9bd3f10933f227ba2268f7a2db8032660ac5";
    const SMB311_C2S_256: &str = "d4db4da5ae80f584f1331b95494708f8555903a71a7b045cfbed15d1865b4ed3";
}
