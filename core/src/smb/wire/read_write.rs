//! READ, WRITE, FLUSH and LOCK bodies (MS-SMB2 2.2.17-2.2.27).

use super::codec::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRequest {
    pub length: u32,
    pub offset: u64,
    pub file_id: FileId,
    pub minimum_count: u32,
    pub channel: u32,
}

impl ReadRequest {
    pub fn decode(msg: &[u8]) -> WireResult<Self> {
        let body = msg.get(64..).ok_or(WireError::Short)?;
        structure_size(body, 49)?;
        Ok(Self {
            length: u32_at(body, 4)?,
            offset: u64_at(body, 8)?,
            file_id: FileId::decode(body, 16)?,
            minimum_count: u32_at(body, 32)?,
            channel: u32_at(body, 36)?,
        })
    }
}

pub fn encode_read_response(data: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(16 + data.len());
    put_u16(&mut b, 17);
    put_u8(&mut b, 80); // DataOffset: 64 + 16
    put_u8(&mut b, 0);
    put_u32(&mut b, data.len() as u32);
    put_u32(&mut b, 0); // DataRemaining
    put_u32(&mut b, 0); // Flags
    b.extend_from_slice(data);
    if data.is_empty() {
        b.push(0);
    }
    b
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRequest<'a> {
    pub offset: u64,
    pub file_id: FileId,
    pub channel: u32,
    pub flags: u32,
    pub data: &'a [u8],
}

impl<'a> WriteRequest<'a> {
    pub fn decode(msg: &'a [u8]) -> WireResult<Self> {
        let body = msg.get(64..).ok_or(WireError::Short)?;
        structure_size(body, 49)?;
        let off = u16_at(body, 2)? as usize;
        let len = u32_at(body, 4)? as usize;
        Ok(Self {
            offset: u64_at(body, 8)?,
            file_id: FileId::decode(body, 16)?,
            channel: u32_at(body, 32)?,
            flags: u32_at(body, 44)?,
            data: slice_at(msg, off, len)?,
        })
    }
}

pub fn encode_write_response(count: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(17);
    put_u16(&mut b, 17);
    put_u16(&mut b, 0);
    put_u32(&mut b, count);
    put_u32(&mut b, 0); // Remaining
    put_u16(&mut b, 0); // WriteChannelInfoOffset
    put_u16(&mut b, 0); // WriteChannelInfoLength
    b.push(0);
    b
}

/// FLUSH: the FileId.
pub fn decode_flush(msg: &[u8]) -> WireResult<FileId> {
    let body = msg.get(64..).ok_or(WireError::Short)?;
    structure_size(body, 24)?;
    FileId::decode(body, 8)
}

/// LOCK: the FileId and the number of SMB2_LOCK_ELEMENTs (each 24 bytes,
/// all present).
pub fn decode_lock(msg: &[u8]) -> WireResult<(FileId, u16)> {
    let body = msg.get(64..).ok_or(WireError::Short)?;
    structure_size(body, 48)?;
    let count = u16_at(body, 2)?;
    if count == 0 {
        return Err(WireError::Invalid);
    }
    slice_at(body, 24, 24 * count as usize)?;
    Ok((FileId::decode(body, 8)?, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_read_request() {
        let mut m = vec![0u8; 64];
        m.extend_from_slice(&[49, 0, 0x50, 0]); // StructureSize, Padding, Flags
        m.extend_from_slice(&4096u32.to_le_bytes()); // Length
        m.extend_from_slice(&10u64.to_le_bytes()); // Offset
        m.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]); // FileId
        m.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // MinimumCount 1 ... Buffer
        let r = ReadRequest::decode(&m).unwrap();
        assert_eq!(
            r,
            ReadRequest {
                length: 4096,
                offset: 10,
                file_id: FileId { persistent: 1, volatile: 2 },
                minimum_count: 1,
                channel: 0
            }
        );
        assert_eq!(encode_read_response(b"hi"), vec![17, 0, 80, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'h', b'i']);
    }

    #[test]
    fn golden_write_request() {
        let mut m = vec![0u8; 64];
        m.extend_from_slice(&[49, 0, 112, 0, 3, 0, 0, 0]); // DataOffset 112, Length 3
        m.extend_from_slice(&[0; 8]); // Offset 0
        m.extend_from_slice(&[9; 16]); // FileId
        m.extend_from_slice(&[0; 16]); // Channel ... Flags
        m.extend_from_slice(b"abc");
        let w = WriteRequest::decode(&m).unwrap();
        assert_eq!(w.data, b"abc");
        assert_eq!(encode_write_response(3)[4..8], [3, 0, 0, 0]);
    }

    quickcheck::quickcheck! {
        fn decode_never_panics(b: Vec<u8>) -> bool {
            let mut m = vec![0u8; 64];
            m.extend_from_slice(&[49, 0]);
            m.extend_from_slice(&b);
            let _ = ReadRequest::decode(&m);
            let _ = WriteRequest::decode(&m);
            m[64] = 24;
            let _ = decode_flush(&m);
            m[64] = 48;
            let _ = decode_lock(&m);
            true
        }
    }
}
