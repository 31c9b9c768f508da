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

    /// The 49-byte body (no read channel info).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(49);
        put_u16(out, 49);
        put_u8(out, 0); // Padding
        put_u8(out, 0); // Flags
        put_u32(out, self.length);
        put_u64(out, self.offset);
        self.file_id.encode(out);
        put_u32(out, self.minimum_count);
        put_u32(out, self.channel);
        put_u32(out, 0); // RemainingBytes
        put_u16(out, 0); // ReadChannelInfoOffset
        put_u16(out, 0); // ReadChannelInfoLength
        out.push(0); // Buffer
    }
}

/// The data of a READ response (2.2.20); DataOffset counts from the header.
pub fn decode_read_response(msg: &[u8]) -> WireResult<&[u8]> {
    let body = msg.get(64..).ok_or(WireError::Short)?;
    structure_size(body, 17)?;
    let off = u8_at(body, 2)? as usize;
    let len = u32_at(body, 4)? as usize;
    slice_at(msg, off, len)
}

pub fn encode_read_response(data: &[u8], out: &mut Vec<u8>) {
    out.reserve(16 + data.len());
    put_u16(out, 17);
    put_u8(out, 80); // DataOffset: 64 + 16
    put_u8(out, 0);
    put_u32(out, data.len() as u32);
    put_u32(out, 0); // DataRemaining
    put_u32(out, 0); // Flags
    out.extend_from_slice(data);
    if data.is_empty() {
        out.push(0);
    }
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
        let (mut req, off, len) = Self::decode_fixed(msg)?;
        req.data = slice_at(msg, off, len)?;
        Ok(req)
    }

    /// The fields of a WRITE whose data did not come with the message (the
    /// adapter received it into pipes): DataOffset must be where the
    /// message ends. Returns the request (no data) and its Length.
    pub fn decode_head(msg: &'a [u8]) -> WireResult<(Self, usize)> {
        let (req, off, len) = Self::decode_fixed(msg)?;
        if off != msg.len() {
            return Err(WireError::Invalid);
        }
        Ok((req, len))
    }

    fn decode_fixed(msg: &'a [u8]) -> WireResult<(Self, usize, usize)> {
        let body = msg.get(64..).ok_or(WireError::Short)?;
        structure_size(body, 49)?;
        let off = u16_at(body, 2)? as usize;
        let len = u32_at(body, 4)? as usize;
        let req = Self {
            offset: u64_at(body, 8)?,
            file_id: FileId::decode(body, 16)?,
            channel: u32_at(body, 32)?,
            flags: u32_at(body, 44)?,
            data: &[],
        };
        Ok((req, off, len))
    }

    /// The body; the data follows at 64 + 48 = 112.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(49 + self.data.len());
        put_u16(out, 49);
        put_u16(out, 112); // DataOffset
        put_u32(out, self.data.len() as u32);
        put_u64(out, self.offset);
        self.file_id.encode(out);
        put_u32(out, self.channel);
        put_u32(out, 0); // RemainingBytes
        put_u16(out, 0); // WriteChannelInfoOffset
        put_u16(out, 0); // WriteChannelInfoLength
        put_u32(out, self.flags);
        out.extend_from_slice(self.data);
        if self.data.is_empty() {
            out.push(0);
        }
    }
}

/// The Count of a WRITE response (2.2.22).
pub fn decode_write_response(msg: &[u8]) -> WireResult<u32> {
    let body = msg.get(64..).ok_or(WireError::Short)?;
    structure_size(body, 17)?;
    u32_at(body, 4)
}

pub fn encode_write_response(count: u32, out: &mut Vec<u8>) {
    out.reserve(17);
    put_u16(out, 17);
    put_u16(out, 0);
    put_u32(out, count);
    put_u32(out, 0); // Remaining
    put_u16(out, 0); // WriteChannelInfoOffset
    put_u16(out, 0); // WriteChannelInfoLength
    out.push(0);
}

/// FLUSH: the FileId.
pub fn decode_flush(msg: &[u8]) -> WireResult<FileId> {
    let body = msg.get(64..).ok_or(WireError::Short)?;
    structure_size(body, 24)?;
    FileId::decode(body, 8)
}

/// A FLUSH request body (2.2.17).
pub fn encode_flush(file_id: FileId, out: &mut Vec<u8>) {
    out.reserve(24);
    put_u16(out, 24);
    put_u16(out, 0); // Reserved1
    put_u32(out, 0); // Reserved2
    file_id.encode(out);
}

/// An SMB2_LOCK_ELEMENT (2.2.26.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockElement {
    pub offset: u64,
    pub length: u64,
    pub flags: u32,
}

/// A whole LOCK request (2.2.26).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRequest {
    pub lock_sequence: u32,
    pub file_id: FileId,
    pub locks: Vec<LockElement>,
}

impl LockRequest {
    pub fn decode(msg: &[u8]) -> WireResult<Self> {
        let (file_id, count) = decode_lock(msg)?;
        let body = msg.get(64..).ok_or(WireError::Short)?;
        let locks = (0..usize::from(count))
            .map(|i| {
                let at = 24 + 24 * i;
                Ok(LockElement {
                    offset: u64_at(body, at)?,
                    length: u64_at(body, at + 8)?,
                    flags: u32_at(body, at + 16)?,
                })
            })
            .collect::<WireResult<_>>()?;
        Ok(Self { lock_sequence: u32_at(body, 4)?, file_id, locks })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(24 + 24 * self.locks.len());
        put_u16(out, 48);
        put_u16(out, self.locks.len() as u16);
        put_u32(out, self.lock_sequence);
        self.file_id.encode(out);
        for l in &self.locks {
            put_u64(out, l.offset);
            put_u64(out, l.length);
            put_u32(out, l.flags);
            put_u32(out, 0); // Reserved
        }
    }
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
        assert_eq!(to_vec(|b| encode_read_response(b"hi", b)), vec![17, 0, 80, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'h', b'i']);
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
        assert_eq!(to_vec(|b| encode_write_response(3, b))[4..8], [3, 0, 0, 0]);
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
            let _ = LockRequest::decode(&m);
            m[64] = 17;
            let _ = decode_read_response(&m);
            let _ = decode_write_response(&m);
            true
        }
    }
}

#[cfg(test)]
mod roundtrip;
