//! SMB 3 encryption (MS-SMB2 3.1.4.3): the four ciphers, the session's
//! keys and nonce counter, and sealing and unsealing one message in place
//! behind its TRANSFORM_HEADER (2.2.41).

use aes::{Aes128, Aes256};
use ccm::Ccm;
use ccm::aead::consts::{U11, U16};
use ccm::aead::{AeadInOut, KeyInit, Nonce};
use ring::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, UnboundKey};

use super::wire::transform::{AAD_OFFSET, TRANSFORM_FLAG_ENCRYPTED, TRANSFORM_HEADER_LEN, TransformHeader};

type Aes128Ccm = Ccm<Aes128, U16, U11>;
type Aes256Ccm = Ccm<Aes256, U16, U11>;

/// A cipher of ENCRYPTION_CAPABILITIES (MS-SMB2 2.2.3.1.2); 3.0 and 3.0.2
/// always use AES-128-CCM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    Aes128Ccm,
    Aes128Gcm,
    Aes256Ccm,
    Aes256Gcm,
}

impl Cipher {
    /// Every cipher the server implements.
    pub const ALL: [Cipher; 4] = [Self::Aes128Ccm, Self::Aes128Gcm, Self::Aes256Ccm, Self::Aes256Gcm];

    /// The CipherId on the wire.
    pub fn id(self) -> u16 {
        match self {
            Self::Aes128Ccm => 1,
            Self::Aes128Gcm => 2,
            Self::Aes256Ccm => 3,
            Self::Aes256Gcm => 4,
        }
    }

    pub fn from_id(id: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == id)
    }

    /// Key length in bytes (MS-SMB2 3.3.5.5.3: AES-256 keys are 32 bytes).
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128Ccm | Self::Aes128Gcm => 16,
            Self::Aes256Ccm | Self::Aes256Gcm => 32,
        }
    }

    /// Bytes of the 16-byte Nonce field the cipher uses (2.2.41).
    pub fn nonce_len(self) -> usize {
        match self {
            Self::Aes128Ccm | Self::Aes256Ccm => 11,
            Self::Aes128Gcm | Self::Aes256Gcm => 12,
        }
    }
}

/// One direction's key. Its Debug form leaves the key out.
#[derive(Clone)]
pub struct CipherKey {
    pub cipher: Cipher,
    key: [u8; 32],
}

impl std::fmt::Debug for CipherKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CipherKey").field("cipher", &self.cipher).finish_non_exhaustive()
    }
}

impl CipherKey {
    /// `key` must be `cipher.key_len()` bytes long.
    pub fn new(cipher: Cipher, key: &[u8]) -> Option<Self> {
        if key.len() != cipher.key_len() {
            return None;
        }
        let mut k = [0u8; 32];
        k[..key.len()].copy_from_slice(key);
        Some(Self { cipher, key: k })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.key[..self.cipher.key_len()]
    }

    /// Encrypts `data` in place; the tag is returned.
    pub fn encrypt(&self, nonce: &[u8; 16], aad: &[u8], data: &mut [u8]) -> Option<[u8; 16]> {
        let (k, n) = (self.bytes(), &nonce[..self.cipher.nonce_len()]);
        match self.cipher {
            Cipher::Aes128Ccm => encrypt_with::<Aes128Ccm>(k, n, aad, data),
            Cipher::Aes256Ccm => encrypt_with::<Aes256Ccm>(k, n, aad, data),
            Cipher::Aes128Gcm | Cipher::Aes256Gcm => gcm_encrypt(self.cipher, k, n, aad, data),
        }
    }

    /// Decrypts `data` in place when `tag` authenticates it; false (and
    /// `data` unspecified) otherwise.
    pub fn decrypt(&self, nonce: &[u8; 16], aad: &[u8], data: &mut [u8], tag: &[u8; 16]) -> bool {
        let (k, n) = (self.bytes(), &nonce[..self.cipher.nonce_len()]);
        match self.cipher {
            Cipher::Aes128Ccm => decrypt_with::<Aes128Ccm>(k, n, aad, data, tag),
            Cipher::Aes256Ccm => decrypt_with::<Aes256Ccm>(k, n, aad, data, tag),
            Cipher::Aes128Gcm | Cipher::Aes256Gcm => gcm_decrypt(self.cipher, k, n, aad, data, tag),
        }
    }
}

fn encrypt_with<A: AeadInOut + KeyInit>(key: &[u8], nonce: &[u8], aad: &[u8], data: &mut [u8]) -> Option<[u8; 16]> {
    let aead = A::new_from_slice(key).ok()?;
    let nonce = Nonce::<A>::try_from(nonce).ok()?;
    let tag = aead.encrypt_inout_detached(&nonce, aad, data.into()).ok()?;
    tag.as_slice().try_into().ok()
}

fn decrypt_with<A: AeadInOut + KeyInit>(key: &[u8], nonce: &[u8], aad: &[u8], data: &mut [u8], tag: &[u8; 16]) -> bool {
    let (Ok(aead), Ok(nonce), Ok(tag)) =
        (A::new_from_slice(key), Nonce::<A>::try_from(nonce), ccm::aead::Tag::<A>::try_from(&tag[..]))
    else {
        return false;
    };
    aead.decrypt_inout_detached(&nonce, aad, data.into(), &tag).is_ok()
}

/// ring's AES-GCM key for `cipher` (one of the two GCM ciphers).
fn gcm_key(cipher: Cipher, key: &[u8]) -> Option<LessSafeKey> {
    let alg = if cipher == Cipher::Aes256Gcm { &AES_256_GCM } else { &AES_128_GCM };
    Some(LessSafeKey::new(UnboundKey::new(alg, key).ok()?))
}

fn gcm_nonce(nonce: &[u8]) -> Option<ring::aead::Nonce> {
    ring::aead::Nonce::try_assume_unique_for_key(nonce).ok()
}

/// The nonce is unique per key: it comes from the session's counter
/// ([`SessionCipher::next_nonce`]), never from the seeded generator.
fn gcm_encrypt(cipher: Cipher, key: &[u8], nonce: &[u8], aad: &[u8], data: &mut [u8]) -> Option<[u8; 16]> {
    let tag = gcm_key(cipher, key)?.seal_in_place_separate_tag(gcm_nonce(nonce)?, Aad::from(aad), data).ok()?;
    tag.as_ref().try_into().ok()
}

fn gcm_decrypt(cipher: Cipher, key: &[u8], nonce: &[u8], aad: &[u8], data: &mut [u8], tag: &[u8; 16]) -> bool {
    let (Some(k), Some(n), Ok(t)) = (gcm_key(cipher, key), gcm_nonce(nonce), ring::aead::Tag::try_from(&tag[..]))
    else {
        return false;
    };
    k.open_in_place_separate_tag(n, Aad::from(aad), t, data, 0..).is_ok()
}

/// A session's encryption state (MS-SMB2 3.3.1.8 Session.EncryptionKey,
/// Session.DecryptionKey): the keys and the counter every nonce the server
/// sends under its key comes from, so that no nonce is used twice.
#[derive(Debug, Clone)]
pub struct SessionCipher {
    /// Session.EncryptionKey: what the server sends.
    pub encrypt: CipherKey,
    /// Session.DecryptionKey: what the server receives.
    pub decrypt: CipherKey,
    next_nonce: u64,
}

impl SessionCipher {
    pub fn new(encrypt: CipherKey, decrypt: CipherKey) -> Self {
        Self { encrypt, decrypt, next_nonce: 1 }
    }

    /// The next nonce: the counter's value in its first 8 bytes (inside
    /// both the 11-byte CCM and 12-byte GCM nonces), the rest zero. None
    /// once the counter is spent: a nonce is never reused.
    pub fn next_nonce(&mut self) -> Option<[u8; 16]> {
        let n = self.next_nonce;
        self.next_nonce = n.checked_add(1)?;
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&n.to_le_bytes());
        Some(nonce)
    }
}

/// Encrypts the SMB2 message `msg` (one message or a compound) in place and
/// returns the TRANSFORM_HEADER to send in front of it.
pub fn seal(key: &CipherKey, nonce: [u8; 16], session_id: u64, msg: &mut [u8]) -> Option<[u8; TRANSFORM_HEADER_LEN]> {
    let mut h = TransformHeader {
        signature: [0; 16],
        nonce,
        original_message_size: u32::try_from(msg.len()).ok()?,
        flags: TRANSFORM_FLAG_ENCRYPTED,
        session_id,
    };
    h.signature = key.encrypt(&nonce, &h.aad(), msg)?;
    Some(h.encode())
}

/// Why a TRANSFORM message was refused; each closes the connection
/// (MS-SMB2 3.3.5.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsealError {
    /// Not longer than a TRANSFORM_HEADER, or not one.
    Malformed,
    /// Flags/EncryptionAlgorithm is not 0x0001.
    Flags,
    /// OriginalMessageSize is not the size of what follows the header.
    Size,
    /// The tag does not authenticate the message.
    Authentication,
}

/// The header of a TRANSFORM message, checked as far as it can be before
/// its session is known.
pub fn transform_header(frame: &[u8]) -> Result<TransformHeader, UnsealError> {
    if frame.len() <= TRANSFORM_HEADER_LEN {
        return Err(UnsealError::Malformed);
    }
    let h = TransformHeader::decode(frame).map_err(|_| UnsealError::Malformed)?;
    if h.flags != TRANSFORM_FLAG_ENCRYPTED {
        return Err(UnsealError::Flags);
    }
    if h.original_message_size as usize != frame.len() - TRANSFORM_HEADER_LEN {
        return Err(UnsealError::Size);
    }
    Ok(h)
}

/// Decrypts a whole TRANSFORM message (header and ciphertext) in place:
/// on success `frame[TRANSFORM_HEADER_LEN..]` is the SMB2 message.
pub fn unseal(key: &CipherKey, frame: &mut [u8]) -> Result<TransformHeader, UnsealError> {
    let h = transform_header(frame)?;
    let aad: [u8; TRANSFORM_HEADER_LEN - AAD_OFFSET] =
        frame.get(AAD_OFFSET..TRANSFORM_HEADER_LEN).and_then(|a| a.try_into().ok()).ok_or(UnsealError::Malformed)?;
    let data = frame.get_mut(TRANSFORM_HEADER_LEN..).ok_or(UnsealError::Malformed)?;
    match key.decrypt(&h.nonce, &aad, data, &h.signature) {
        true => Ok(h),
        false => Err(UnsealError::Authentication),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod samba_capture;
