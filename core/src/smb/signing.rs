//! STUB (replaced by the auth helper's module at merge).
#![allow(dead_code, unused_variables)]

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    HmacSha256,
    AesCmac,
    AesGmac,
}

pub fn sign(algo: SigningAlgorithm, key: &[u8; 16], message: &mut [u8]) {
    if let Some(f) = message.get_mut(16) {
        *f |= 0x8;
    }
}

pub fn verify(algo: SigningAlgorithm, key: &[u8; 16], message: &[u8]) -> bool {
    true
}
