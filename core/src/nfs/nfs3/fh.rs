//! RFC 1813 2.3.3 nfs_fh3: our handles are 22 opaque bytes,
//!
//! ```text
//! 0  'P' 'S'        magic
//! 2  version (2)
//! 3  export index   into config.nfs.exports
//! 4  object id      u64 big-endian (the Vfs ObjectId, the NFS fileid)
//! 12 generation     u64 big-endian (FileAttr::generation)
//! 20 export epoch   u16 big-endian: bumped when a reload gives the slot
//!                   of a removed export to a new one, so that the removed
//!                   export's handles stay STALE
//! ```
//!
//! Both numbers come from the client: a handle is honoured only if the
//! object lies beneath that export's root (`handle.rs`).
//!
//! No boot-time data: a handle stays valid across restarts of a server over
//! the same storage (LocalFs) and configuration.

use crate::nfs::xdr::{XdrReader, XdrResult, XdrWriter};
use crate::vfs::ObjectId;

/// RFC 1813 2.4: NFS3_FHSIZE.
pub const NFS3_FHSIZE: u32 = 64;
pub const FH_LEN: usize = 22;
const MAGIC: [u8; 2] = *b"PS";
const VERSION: u8 = 2;

/// The bytes of an nfs_fh3 as received, parsed when used so that a malformed
/// handle is NFS3ERR_BADHANDLE rather than GARBAGE_ARGS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FhBytes(pub Vec<u8>);

impl FhBytes {
    pub fn decode(r: &mut XdrReader<'_>) -> XdrResult<Self> {
        Ok(Self(r.opaque(NFS3_FHSIZE)?.to_vec()))
    }

    pub fn encode(&self, w: &mut XdrWriter) {
        w.opaque(&self.0);
    }
}

/// A parsed handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NfsFh3 {
    pub export: u8,
    /// The export slot's epoch when the handle was made.
    pub epoch: u16,
    pub id: ObjectId,
    pub generation: u64,
}

/// The handle is not one of ours (NFS3ERR_BADHANDLE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed file handle")]
pub struct BadHandle;

impl NfsFh3 {
    pub fn to_bytes(self) -> [u8; FH_LEN] {
        let mut b = [0u8; FH_LEN];
        b[0..2].copy_from_slice(&MAGIC);
        b[2] = VERSION;
        b[3] = self.export;
        b[4..12].copy_from_slice(&self.id.to_be_bytes());
        b[12..20].copy_from_slice(&self.generation.to_be_bytes());
        b[20..22].copy_from_slice(&self.epoch.to_be_bytes());
        b
    }

    pub fn to_fh(self) -> FhBytes {
        FhBytes(self.to_bytes().to_vec())
    }

    pub fn parse(b: &[u8]) -> Result<Self, BadHandle> {
        let b: &[u8; FH_LEN] = b.try_into().map_err(|_| BadHandle)?;
        if b[0..2] != MAGIC || b[2] != VERSION {
            return Err(BadHandle);
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&b[4..12]);
        let mut generation = [0u8; 8];
        generation.copy_from_slice(&b[12..20]);
        let epoch = u16::from_be_bytes([b[20], b[21]]);
        Ok(Self { export: b[3], epoch, id: u64::from_be_bytes(id), generation: u64::from_be_bytes(generation) })
    }

    /// Encodes as an nfs_fh3 (length-prefixed opaque).
    pub fn encode(&self, w: &mut XdrWriter) {
        w.opaque(&self.to_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn layout_is_fixed() {
        let fh = NfsFh3 { export: 2, epoch: 0x0a0b, id: 0x0102_0304_0506_0708, generation: 9 };
        assert_eq!(fh.to_bytes(), [b'P', b'S', 2, 2, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 9, 0x0a, 0x0b]);
        let mut bad = fh.to_bytes();
        bad[2] = 1;
        assert_eq!(NfsFh3::parse(&bad), Err(BadHandle));
        assert_eq!(NfsFh3::parse(&fh.to_bytes()[..21]), Err(BadHandle));
    }

    quickcheck! {
        fn round_trip(export: u8, epoch: u16, id: u64, generation: u64) -> bool {
            let fh = NfsFh3 { export, epoch, id, generation };
            NfsFh3::parse(&fh.to_bytes()) == Ok(fh)
        }

        fn parse_never_panics(data: Vec<u8>) -> bool {
            let _ = NfsFh3::parse(&data);
            true
        }
    }
}
