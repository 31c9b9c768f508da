//! SMB2/3 message signing (MS-SMB2 3.1.4.1, 3.1.5.1).
//!
//! One call signs or verifies one SMB2 message: the 64-byte header and its
//! body (for a compound, one element including its padding, as sent).

use aes::Aes128;
use aes::cipher::BlockCipherEncrypt;
use cmac::Cmac;
use polyval::Polyval;
use polyval::hazmat::FieldElement;
use polyval::universal_hash::UniversalHash;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::smb::wire::codec::{patch_u32, u16_at, u32_at, u64_at};

/// SMB2 header length.
pub const HEADER_LEN: usize = 64;
/// Offset of the 16-byte Signature field in the SMB2 header.
pub const SIGNATURE_OFFSET: usize = 48;
/// SMB2_FLAGS_SERVER_TO_REDIR.
pub const FLAGS_SERVER_TO_REDIR: u32 = 0x0000_0001;
/// SMB2_FLAGS_SIGNED.
pub const FLAGS_SIGNED: u32 = 0x0000_0008;
/// SMB2 CANCEL command code.
pub const COMMAND_CANCEL: u16 = 0x000C;

const FLAGS_OFFSET: usize = 16;
const COMMAND_OFFSET: usize = 12;
const MESSAGE_ID_OFFSET: usize = 24;

/// Signing algorithm, as negotiated (SMB2_SIGNING_CAPABILITIES ids, MS-SMB2 2.2.3.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// SMB 2.0.2 and 2.1.
    HmacSha256,
    /// SMB 3.0, 3.0.2, and 3.1.1 by default.
    AesCmac,
    /// SMB 3.1.1 with SMB2_SIGNING_CAPABILITIES.
    AesGmac,
}

impl SigningAlgorithm {
    /// The SigningAlgorithmId on the wire.
    pub fn id(self) -> u16 {
        match self {
            Self::HmacSha256 => 0,
            Self::AesCmac => 1,
            Self::AesGmac => 2,
        }
    }

    pub fn from_id(id: u16) -> Option<Self> {
        match id {
            0 => Some(Self::HmacSha256),
            1 => Some(Self::AesCmac),
            2 => Some(Self::AesGmac),
            _ => None,
        }
    }

    /// The algorithm a dialect uses when no signing capability was negotiated.
    pub fn for_dialect(dialect: u16) -> Self {
        if dialect >= crate::smb::kdf::DIALECT_300 { Self::AesCmac } else { Self::HmacSha256 }
    }
}

/// Sets SMB2_FLAGS_SIGNED, then writes the signature of `message` into its
/// header. Messages shorter than the header are left untouched.
pub fn sign(algo: SigningAlgorithm, key: &[u8; 16], message: &mut [u8]) {
    let Some(mut header) = signing_header(message) else { return };
    let flags = u32_at(&header, FLAGS_OFFSET).unwrap_or_default() | FLAGS_SIGNED;
    patch_u32(&mut header, FLAGS_OFFSET, flags);
    let sig = compute(algo, key, &header, &message[HEADER_LEN..]);
    patch_u32(message, FLAGS_OFFSET, flags);
    message[SIGNATURE_OFFSET..SIGNATURE_OFFSET + 16].copy_from_slice(&sig);
}

/// A copy of the message's header with the Signature field zeroed, as the
/// MAC covers it (MS-SMB2 3.1.4.1); None when the message is shorter.
/// The body is MACed where it lies: a large WRITE is never copied to be
/// checked.
fn signing_header(message: &[u8]) -> Option<[u8; HEADER_LEN]> {
    let mut header: [u8; HEADER_LEN] = message.get(..HEADER_LEN)?.try_into().ok()?;
    header[SIGNATURE_OFFSET..SIGNATURE_OFFSET + 16].fill(0);
    Some(header)
}

/// Whether the Signature field of `message` is correct. Does not modify the
/// input; the comparison is constant-time.
/// A signature check a storage worker runs on a large message
/// (`IoOp::VerifySignature`). Its Debug form leaves the key out.
pub struct SignatureCheck {
    /// The connection's signing algorithm.
    pub algorithm: SigningAlgorithm,
    /// The session's signing key.
    pub key: [u8; 16],
}

impl std::fmt::Debug for SignatureCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureCheck").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl crate::io::MessageCheck for SignatureCheck {
    fn check(&self, message: &[u8]) -> bool {
        verify(self.algorithm, &self.key, message)
    }
}

pub fn verify(algo: SigningAlgorithm, key: &[u8; 16], message: &[u8]) -> bool {
    let (Some(header), Some(received)) = (signing_header(message), message.get(SIGNATURE_OFFSET..SIGNATURE_OFFSET + 16))
    else {
        return false;
    };
    let expected = compute(algo, key, &header, &message[HEADER_LEN..]);
    constant_time_eq(&expected, received)
}

/// The signature over `header` (Signature field zeroed) followed by `body`.
fn compute(algo: SigningAlgorithm, key: &[u8; 16], header: &[u8; HEADER_LEN], body: &[u8]) -> [u8; 16] {
    let parts: [&[u8]; 2] = [header, body];
    match algo {
        SigningAlgorithm::HmacSha256 => hmac_sha256_16(key, &parts),
        SigningAlgorithm::AesCmac => aes_cmac(key, &parts),
        SigningAlgorithm::AesGmac => {
            let flags = u32_at(header, FLAGS_OFFSET).unwrap_or_default();
            let command = u16_at(header, COMMAND_OFFSET).unwrap_or_default();
            let message_id = u64_at(header, MESSAGE_ID_OFFSET).unwrap_or_default();
            aes_gmac(key, &gmac_nonce(message_id, flags, command), &parts)
        }
    }
}

/// MS-SMB2 3.1.4.1: MessageId (8 bytes LE), then 4 bytes whose bit 0 is the
/// SERVER_TO_REDIR flag and bit 1 marks a CANCEL request.
fn gmac_nonce(message_id: u64, flags: u32, command: u16) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&message_id.to_le_bytes());
    let mut role = 0u32;
    if flags & FLAGS_SERVER_TO_REDIR != 0 {
        role |= 1;
    }
    if command == COMMAND_CANCEL {
        role |= 2;
    }
    nonce[8..].copy_from_slice(&role.to_le_bytes());
    nonce
}

/// HMAC-SHA256 over the concatenation of `parts`, truncated to its first 16 bytes.
pub fn hmac_sha256_16(key: &[u8; 16], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    parts.iter().for_each(|p| mac.update(p));
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// AES-128-CMAC (RFC 4493) over the concatenation of `parts`.
pub fn aes_cmac(key: &[u8; 16], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Cmac<Aes128> as KeyInit>::new(key.into());
    parts.iter().for_each(|p| mac.update(p));
    mac.finalize().into_bytes().into()
}

/// AES-128-GMAC: the GCM tag over the concatenation of `parts` as AAD, with
/// an empty plaintext.
pub fn aes_gmac(key: &[u8; 16], nonce: &[u8; 12], parts: &[&[u8]]) -> [u8; 16] {
    let mut gmac = Gmac::new(key, nonce);
    parts.iter().for_each(|p| gmac.update(p));
    gmac.finalize()
}

/// AES-128-GMAC fed in pieces (NIST SP 800-38D with an empty plaintext:
/// GHASH over the padded AAD and a length block, masked with E(K, J0)), so
/// that a message is authenticated where it lies, in as many parts as it is.
///
/// GHASH runs on POLYVAL (RFC 8452 appendix A: GHASH with key H equals the
/// byte-reversed POLYVAL with key mulX(reverse(H)) over byte-reversed
/// blocks); reversing a batch of blocks with two byte swaps each before one
/// POLYVAL call is a quarter faster than the `ghash` crate's per-block copy.
struct Gmac {
    cipher: Aes128,
    polyval: Polyval,
    j0: [u8; 16],
    /// AAD bytes not yet making up a whole block.
    partial: [u8; 16],
    partial_len: usize,
    aad_len: u64,
}

/// Blocks reversed per POLYVAL call.
const GHASH_BATCH: usize = 16;

impl Gmac {
    fn new(key: &[u8; 16], nonce: &[u8; 12]) -> Self {
        let cipher = <Aes128 as aes::cipher::KeyInit>::new(key.into());
        let mut h = polyval::Block::default();
        cipher.encrypt_block(&mut h);
        let polyval = Polyval::new(&FieldElement::from(h).reverse().mulx().into());
        // A 96-bit IV: J0 = IV || 0^31 || 1.
        let mut j0 = [0u8; 16];
        j0[..12].copy_from_slice(nonce);
        j0[15] = 1;
        Self { cipher, polyval, j0, partial: [0; 16], partial_len: 0, aad_len: 0 }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.aad_len += data.len() as u64;
        if self.partial_len > 0 {
            let take = data.len().min(16 - self.partial_len);
            self.partial[self.partial_len..self.partial_len + take].copy_from_slice(&data[..take]);
            self.partial_len += take;
            data = &data[take..];
            if self.partial_len < 16 {
                return;
            }
            let block = self.partial;
            self.blocks(&block);
            self.partial_len = 0;
        }
        let whole = data.len() - data.len() % 16;
        self.blocks(&data[..whole]);
        let rest = &data[whole..];
        self.partial[..rest.len()].copy_from_slice(rest);
        self.partial_len = rest.len();
    }

    /// GHASH over whole 16-byte blocks.
    fn blocks(&mut self, data: &[u8]) {
        let mut batch = [polyval::Block::default(); GHASH_BATCH];
        for chunk in data.chunks(16 * GHASH_BATCH) {
            let mut n = 0;
            for (reversed, block) in batch.iter_mut().zip(chunk.chunks_exact(16)) {
                let mut b = [0u8; 16];
                b.copy_from_slice(block);
                *reversed = u128::from_be_bytes(b).to_le_bytes().into();
                n += 1;
            }
            self.polyval.update(&batch[..n]);
        }
    }

    fn finalize(mut self) -> [u8; 16] {
        if self.partial_len > 0 {
            self.partial[self.partial_len..].fill(0);
            let block = self.partial;
            self.blocks(&block);
        }
        let mut lengths = [0u8; 16];
        lengths[..8].copy_from_slice(&(self.aad_len * 8).to_be_bytes());
        self.blocks(&lengths);
        let mut mask = polyval::Block::from(self.j0);
        self.cipher.encrypt_block(&mut mask);
        let mut tag: [u8; 16] = self.polyval.finalize().into();
        tag.reverse();
        for (t, m) in tag.iter_mut().zip(mask.iter()) {
            *t ^= m;
        }
        tag
    }
}

/// Compares without an early exit.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
pub(crate) mod samba_capture;

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    const KEY: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    /// A READ (0x08) response header, SERVER_TO_REDIR, MessageId
    /// 0x0102030405060708, followed by a 16-byte body.
    fn message(signed: bool) -> Vec<u8> {
        let mut m = hex("fe534d4200000000000000000800000001000000000000000807060504030201");
        m.extend_from_slice(&[0; 32]);
        m.extend_from_slice(b"body bytes here!");
        if signed {
            m[16] |= 0x08;
        }
        m
    }

    #[test]
    fn cmac_primitive_rfc4493() {
        let k: [u8; 16] = hex("2b7e151628aed2a6abf7158809cf4f3c").try_into().unwrap();
        assert_eq!(aes_cmac(&k, &[b""]).to_vec(), hex("bb1d6929e95937287fa37d129b756746"));
        assert_eq!(
            aes_cmac(&k, &[&hex("6bc1bee22e409f96e93d7e117393172a")]).to_vec(),
            hex("070a16b46b4d4144f79bdd9dd04a287c")
        );
    }

    #[test]
    fn gmac_primitive_gcm_test_cases_1_and_2() {
        // McGrew & Viega GCM test case 1: zero key and IV, no data.
        assert_eq!(aes_gmac(&[0; 16], &[0; 12], &[b""]).to_vec(), hex("58e2fccefa7e3061367f1d57a4e7455a"));
        // Same key with the data as AAD (GMAC) differs from test case 2 (data as plaintext).
        assert_ne!(aes_gmac(&[0; 16], &[0; 12], &[&[0; 16]]).to_vec(), hex("ab6e47d42cec13bdf53a67b21257bddf"));
    }

    #[test]
    fn gmac_with_aad_nist_and_openssl() {
        let k: [u8; 16] = hex("77be63708971c4e240d1cb79e8d77feb").try_into().unwrap();
        let iv: [u8; 12] = hex("e0e00f19fed7ba0136a797f3").try_into().unwrap();
        // NIST CAVS gcmEncryptExtIV128, PTlen 0, AADlen 128, Count 0.
        let aad = hex("7a43ec1d9c0a5a78a0b16533a6213cab");
        assert_eq!(aes_gmac(&k, &iv, &[&aad]).to_vec(), hex("209fcc8d3675ed938e9c7166709dd946"));
        // 200 bytes of AAD (not a whole number of blocks), from Python's
        // `cryptography` (OpenSSL): AESGCM(k).encrypt(iv, b"", bytes(range(200))).
        let long: Vec<u8> = (0..200u8).collect();
        assert_eq!(aes_gmac(&k, &iv, &[&long]).to_vec(), hex("8880b814fe9eea344aa06c0062a50bce"));
    }

    quickcheck! {
        /// A MAC over a message in two parts, split anywhere, is the MAC over
        /// the whole (the signature check MACs the body where it lies).
        fn macs_over_parts_match_the_whole(data: Vec<u8>, split: usize) -> bool {
            let at = if data.is_empty() { 0 } else { split % (data.len() + 1) };
            let (a, b) = data.split_at(at);
            let nonce = [7u8; 12];
            aes_gmac(&KEY, &nonce, &[a, b]) == aes_gmac(&KEY, &nonce, &[&data])
                && aes_cmac(&KEY, &[a, b]) == aes_cmac(&KEY, &[&data])
                && hmac_sha256_16(&KEY, &[a, b]) == hmac_sha256_16(&KEY, &[&data])
        }
    }

    // Golden signatures computed with Python's `cryptography` (OpenSSL) and hmac.
    #[test]
    fn golden_signatures() {
        for (algo, expect) in [
            (SigningAlgorithm::HmacSha256, "083a33c9a56714974fefa1718aa4f007"),
            (SigningAlgorithm::AesCmac, "14a15a82040663d505e7ab757ff77cf1"),
            (SigningAlgorithm::AesGmac, "fa5db0857d26e6b27ceab5644ad6a7b6"),
        ] {
            let mut m = message(false);
            sign(algo, &KEY, &mut m);
            assert_eq!(m[16] & 0x08, 0x08, "SIGNED flag set");
            assert_eq!(m[48..64].to_vec(), hex(expect), "{algo:?}");
            let mut unsigned = message(true);
            unsigned[48..64].copy_from_slice(&m[48..64]);
            assert_eq!(unsigned, m, "only flags and signature change");
            assert!(verify(algo, &KEY, &m));
        }
    }

    #[test]
    fn gmac_nonce_layout() {
        assert_eq!(gmac_nonce(0x0102030405060708, 1, 8).to_vec(), hex("080706050403020101000000"));
        assert_eq!(gmac_nonce(5, 0, COMMAND_CANCEL).to_vec(), hex("050000000000000002000000"));
        assert_eq!(gmac_nonce(5, 1, COMMAND_CANCEL).to_vec(), hex("050000000000000003000000"));
    }

    #[test]
    fn gmac_depends_on_direction_and_message_id() {
        let mut a = message(false);
        let mut b = message(false);
        b[16] &= !1; // request direction
        sign(SigningAlgorithm::AesGmac, &KEY, &mut a);
        sign(SigningAlgorithm::AesGmac, &KEY, &mut b);
        assert_ne!(a[48..64], b[48..64]);
    }

    #[test]
    fn tamper_detection() {
        for algo in [SigningAlgorithm::HmacSha256, SigningAlgorithm::AesCmac, SigningAlgorithm::AesGmac] {
            let mut m = message(false);
            sign(algo, &KEY, &mut m);
            for i in [0, 12, 24, 47, 48, 63, 64, m.len() - 1] {
                let mut t = m.clone();
                t[i] ^= 0x40;
                assert!(!verify(algo, &KEY, &t), "{algo:?} byte {i}");
            }
            let mut other_key = KEY;
            other_key[0] ^= 1;
            assert!(!verify(algo, &other_key, &m));
        }
    }

    #[test]
    fn short_messages() {
        let mut m = vec![0xfe; 63];
        sign(SigningAlgorithm::AesCmac, &KEY, &mut m);
        assert_eq!(m, vec![0xfe; 63]);
        assert!(!verify(SigningAlgorithm::AesCmac, &KEY, &m));
        assert!(!verify(SigningAlgorithm::AesCmac, &KEY, &[]));
    }

    #[test]
    fn algorithm_ids() {
        for a in [SigningAlgorithm::HmacSha256, SigningAlgorithm::AesCmac, SigningAlgorithm::AesGmac] {
            assert_eq!(SigningAlgorithm::from_id(a.id()), Some(a));
        }
        assert_eq!(SigningAlgorithm::from_id(3), None);
        assert_eq!(SigningAlgorithm::for_dialect(0x0210), SigningAlgorithm::HmacSha256);
        assert_eq!(SigningAlgorithm::for_dialect(0x0311), SigningAlgorithm::AesCmac);
    }

    quickcheck! {
        fn sign_then_verify(body: Vec<u8>, id: u64, gmac: bool) -> bool {
            let mut m = message(false);
            m[24..32].copy_from_slice(&id.to_le_bytes());
            m.extend_from_slice(&body);
            let algo = if gmac { SigningAlgorithm::AesGmac } else { SigningAlgorithm::AesCmac };
            sign(algo, &KEY, &mut m);
            verify(algo, &KEY, &m)
        }
    }
}
