//! The core's only source of randomness: ChaCha20 keyed by a [`Seed`] the
//! caller passes in, so that the same seed and inputs give byte-identical
//! outputs. Adapters key it with 32 bytes of OS entropy; tests and
//! reproducible runs with a fixed number.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// What every random value of a server derives from: NTLM server
/// challenges, SessionIds, the ServerGuid, preauth salts, FileId.Persistent
/// and the NFS write verifier. Whoever knows it can predict them all, so it
/// is never logged (its `Debug` shows only the kind).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// A fixed number, for tests and reproducible runs: predictable by
    /// anyone who knows it, never for a server facing real clients.
    Fixed(u64),
    /// 32 bytes of OS entropy, the ChaCha20 key as drawn.
    Entropy([u8; 32]),
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(_) => f.write_str("Seed::Fixed(<redacted>)"),
            Self::Entropy(_) => f.write_str("Seed::Entropy(<redacted>)"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rng(ChaCha20Rng);

impl Rng {
    pub fn new(seed: Seed) -> Self {
        match seed {
            Seed::Fixed(n) => Self(ChaCha20Rng::seed_from_u64(n)),
            Seed::Entropy(key) => Self(ChaCha20Rng::from_seed(key)),
        }
    }

    pub fn from_seed(seed: u64) -> Self {
        Self::new(Seed::Fixed(seed))
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        self.0.fill_bytes(buf);
    }

    pub fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    pub fn u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        self.fill(&mut b);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::from_seed(7);
        let mut b = Rng::from_seed(7);
        assert_eq!(a.bytes::<32>(), b.bytes::<32>());
        assert_ne!(Rng::from_seed(8).u64(), Rng::from_seed(7).u64());
    }

    #[test]
    fn entropy_keys_the_stream() {
        let mut a = Rng::new(Seed::Entropy([1; 32]));
        let mut b = Rng::new(Seed::Entropy([1; 32]));
        assert_eq!(a.bytes::<32>(), b.bytes::<32>());
        assert_ne!(Rng::new(Seed::Entropy([2; 32])).u64(), Rng::new(Seed::Entropy([1; 32])).u64());
    }

    #[test]
    fn debug_never_shows_the_seed() {
        let shown = format!("{:?} {:?}", Seed::Fixed(123_456_789), Seed::Entropy([0xAB; 32]));
        assert!(!shown.contains("123456789") && !shown.to_lowercase().contains("ab, ") && !shown.contains("171"));
    }
}
