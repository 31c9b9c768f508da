//! Server-side copy: SRV_REQUEST_RESUME_KEY (MS-SMB2 2.2.32.3),
//! SRV_COPYCHUNK_COPY and SRV_COPYCHUNK (2.2.31.1, 2.2.31.1.1),
//! SRV_COPYCHUNK_RESPONSE (2.2.32.1).

use super::codec::*;

pub const FSCTL_SRV_REQUEST_RESUME_KEY: u32 = 0x0014_0078;
pub const FSCTL_SRV_COPYCHUNK: u32 = 0x0014_40F2;
pub const FSCTL_SRV_COPYCHUNK_WRITE: u32 = 0x0014_80F2;

/// The server's limits (MS-SMB2 3.3.3: ServerSideCopyMaxNumberofChunks,
/// ServerSideCopyMaxChunkSize, ServerSideCopyMaxDataSize), also what an
/// over-limit request gets back (3.3.5.15.6).
pub const MAX_CHUNKS: u32 = 256;
pub const MAX_CHUNK_SIZE: u32 = 1 << 20;
pub const MAX_TOTAL: u32 = 16 << 20;

/// Length of a resume key (2.2.32.3).
pub const RESUME_KEY_LEN: usize = 24;

/// One chunk: SourceOffset, TargetOffset, Length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub source_offset: u64,
    pub target_offset: u64,
    pub length: u32,
}

/// SRV_COPYCHUNK_COPY: the source's resume key and the chunks. The count
/// is checked against [`MAX_CHUNKS`] before the chunks are read, so a
/// request never makes the server hold more than that many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyChunkCopy {
    pub source_key: [u8; RESUME_KEY_LEN],
    pub chunk_count: u32,
    pub chunks: Vec<Chunk>,
}

impl CopyChunkCopy {
    pub fn decode(b: &[u8]) -> WireResult<Self> {
        let key = b.get(..RESUME_KEY_LEN).ok_or(WireError::Short)?;
        let mut source_key = [0u8; RESUME_KEY_LEN];
        source_key.copy_from_slice(key);
        let chunk_count = u32_at(b, 24)?;
        let mut chunks = Vec::new();
        if chunk_count <= MAX_CHUNKS {
            for i in 0..chunk_count as usize {
                let at = 32 + i * 24;
                chunks.push(Chunk {
                    source_offset: u64_at(b, at)?,
                    target_offset: u64_at(b, at + 8)?,
                    length: u32_at(b, at + 16)?,
                });
            }
        }
        Ok(Self { source_key, chunk_count, chunks })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.source_key);
        put_u32(out, self.chunk_count);
        put_u32(out, 0);
        for c in &self.chunks {
            put_u64(out, c.source_offset);
            put_u64(out, c.target_offset);
            put_u32(out, c.length);
            put_u32(out, 0);
        }
    }
}

/// SRV_COPYCHUNK_RESPONSE.
pub fn encode_copychunk_response(chunks_written: u32, chunk_bytes_written: u32, total_bytes_written: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(12);
    put_u32(&mut out, chunks_written);
    put_u32(&mut out, chunk_bytes_written);
    put_u32(&mut out, total_bytes_written);
    out
}

/// SRV_REQUEST_RESUME_KEY: the key, ContextLength 0 and four bytes of
/// padding, as Windows sends it.
pub fn encode_resume_key(key: &[u8; RESUME_KEY_LEN]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    out.extend_from_slice(key);
    put_u32(&mut out, 0);
    put_u32(&mut out, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copychunk_round_trips_and_bounds_the_count() {
        let c = CopyChunkCopy {
            source_key: [7; RESUME_KEY_LEN],
            chunk_count: 2,
            chunks: vec![
                Chunk { source_offset: 1, target_offset: 2, length: 3 },
                Chunk { source_offset: 4, target_offset: 5, length: 6 },
            ],
        };
        let mut b = Vec::new();
        c.encode(&mut b);
        assert_eq!(b.len(), 32 + 2 * 24);
        assert_eq!(CopyChunkCopy::decode(&b).unwrap(), c);
        assert!(CopyChunkCopy::decode(&b[..b.len() - 10]).is_err(), "a chunk cut short");
        let mut many = Vec::new();
        CopyChunkCopy { chunk_count: MAX_CHUNKS + 1, chunks: vec![], ..c }.encode(&mut many);
        let d = CopyChunkCopy::decode(&many).unwrap();
        assert_eq!((d.chunk_count, d.chunks.len()), (MAX_CHUNKS + 1, 0), "over the limit: not read");
    }
}
