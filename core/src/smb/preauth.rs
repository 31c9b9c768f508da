//! SMB 3.1.1 preauthentication integrity hash (MS-SMB2 3.3.5.4, 3.3.5.5).
//!
//! The connection hash starts at zero and absorbs the NEGOTIATE request and
//! response; each session copies it and then absorbs its SESSION_SETUP
//! requests and responses, except the final successful response.

use sha2::{Digest, Sha512};

/// PreauthIntegrityHashValue: SHA-512 chained over whole SMB2 messages.
#[derive(Clone, PartialEq, Eq)]
pub struct PreauthHash([u8; 64]);

impl std::fmt::Debug for PreauthHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PreauthHash(")?;
        for b in &self.0[..8] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "..)")
    }
}

impl Default for PreauthHash {
    fn default() -> Self {
        Self::new()
    }
}

impl PreauthHash {
    /// The initial value: 64 zero bytes.
    pub fn new() -> Self {
        Self([0; 64])
    }

    /// Value = SHA-512(Value || message), `message` being one SMB2 message
    /// from its header to the end of its body (no transport header).
    pub fn update(&mut self, message: &[u8]) {
        let mut h = Sha512::new();
        h.update(self.0);
        h.update(message);
        self.0 = h.finalize().into();
    }

    pub fn value(&self) -> &[u8; 64] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn starts_at_zero() {
        assert_eq!(PreauthHash::new().value(), &[0u8; 64]);
    }

    #[test]
    fn chains_sha512_over_previous_value() {
        // SHA-512 of 64 zero bytes followed by "abc", computed independently.
        let mut h = PreauthHash::new();
        h.update(b"abc");
        let mut input = vec![0u8; 64];
        input.extend_from_slice(b"abc");
        let expect: [u8; 64] = Sha512::digest(&input).into();
        assert_eq!(h.value(), &expect);
        // Known answer: SHA-512(abc) (FIPS 180-2 example) is the primitive.
        let abc: [u8; 64] = Sha512::digest(b"abc").into();
        assert_eq!(
            abc.to_vec(),
            hex("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                 2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
        );
        let before = h.clone();
        h.update(b"");
        assert_ne!(h, before, "every update changes the value");
    }
}
