//! QUERY_DIRECTORY, QUERY_INFO and SET_INFO bodies (MS-SMB2 2.2.33-2.2.40).

use super::codec::*;
use super::utf16::{from_utf16le, utf16le};

pub const RESTART_SCANS: u8 = 0x01;
pub const RETURN_SINGLE_ENTRY: u8 = 0x02;
pub const INDEX_SPECIFIED: u8 = 0x04;
pub const REOPEN: u8 = 0x10;

pub const INFO_FILE: u8 = 1;
pub const INFO_FILESYSTEM: u8 = 2;
pub const INFO_SECURITY: u8 = 3;
pub const INFO_QUOTA: u8 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryDirectoryRequest {
    pub class: u8,
    pub flags: u8,
    pub file_index: u32,
    pub file_id: FileId,
    pub pattern: String,
    pub output_length: u32,
}

impl QueryDirectoryRequest {
    pub fn decode(msg: &[u8]) -> WireResult<Self> {
        let body = msg.get(64..).ok_or(WireError::Short)?;
        structure_size(body, 33)?;
        let off = u16_at(body, 24)? as usize;
        let len = u16_at(body, 26)? as usize;
        Ok(Self {
            class: u8_at(body, 2)?,
            flags: u8_at(body, 3)?,
            file_index: u32_at(body, 4)?,
            file_id: FileId::decode(body, 8)?,
            pattern: from_utf16le(slice_at(msg, off, len)?)?,
            output_length: u32_at(body, 28)?,
        })
    }

    /// The body; the pattern follows at 64 + 32 = 96.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let pattern = utf16le(&self.pattern);
        out.reserve(33 + pattern.len());
        put_u16(out, 33);
        put_u8(out, self.class);
        put_u8(out, self.flags);
        put_u32(out, self.file_index);
        self.file_id.encode(out);
        put_u16(out, if pattern.is_empty() { 0 } else { 96 });
        put_u16(out, pattern.len() as u16);
        put_u32(out, self.output_length);
        out.extend_from_slice(&pattern);
        if pattern.is_empty() {
            out.push(0);
        }
    }
}

/// QUERY_DIRECTORY and QUERY_INFO responses share one layout.
pub fn encode_output_buffer_response(data: &[u8], out: &mut Vec<u8>) {
    out.reserve(8 + data.len());
    put_u16(out, 9);
    put_u16(out, if data.is_empty() { 0 } else { 72 });
    put_u32(out, data.len() as u32);
    out.extend_from_slice(data);
    if data.is_empty() {
        out.push(0);
    }
}

/// The output buffer of a QUERY_DIRECTORY or QUERY_INFO response.
pub fn decode_output_buffer_response(msg: &[u8]) -> WireResult<&[u8]> {
    let body = msg.get(64..).ok_or(WireError::Short)?;
    structure_size(body, 9)?;
    let off = u16_at(body, 2)? as usize;
    let len = u32_at(body, 4)? as usize;
    slice_at(msg, off, len)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryInfoRequest {
    pub info_type: u8,
    pub class: u8,
    pub output_length: u32,
    pub input: Vec<u8>,
    pub additional_information: u32,
    pub flags: u32,
    pub file_id: FileId,
}

impl QueryInfoRequest {
    pub fn decode(msg: &[u8]) -> WireResult<Self> {
        let body = msg.get(64..).ok_or(WireError::Short)?;
        structure_size(body, 41)?;
        let off = u16_at(body, 8)? as usize;
        let len = u32_at(body, 12)? as usize;
        Ok(Self {
            info_type: u8_at(body, 2)?,
            class: u8_at(body, 3)?,
            output_length: u32_at(body, 4)?,
            input: slice_at(msg, off, len)?.to_vec(),
            additional_information: u32_at(body, 16)?,
            flags: u32_at(body, 20)?,
            file_id: FileId::decode(body, 24)?,
        })
    }

    /// The body; the input buffer follows at 64 + 40 = 104.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(41 + self.input.len());
        put_u16(out, 41);
        put_u8(out, self.info_type);
        put_u8(out, self.class);
        put_u32(out, self.output_length);
        put_u16(out, if self.input.is_empty() { 0 } else { 104 });
        put_u16(out, 0); // Reserved
        put_u32(out, self.input.len() as u32);
        put_u32(out, self.additional_information);
        put_u32(out, self.flags);
        self.file_id.encode(out);
        out.extend_from_slice(&self.input);
        if self.input.is_empty() {
            out.push(0);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetInfoRequest<'a> {
    pub info_type: u8,
    pub class: u8,
    pub buffer: &'a [u8],
    pub additional_information: u32,
    pub file_id: FileId,
}

impl<'a> SetInfoRequest<'a> {
    pub fn decode(msg: &'a [u8]) -> WireResult<Self> {
        let body = msg.get(64..).ok_or(WireError::Short)?;
        structure_size(body, 33)?;
        let len = u32_at(body, 4)? as usize;
        let off = u16_at(body, 8)? as usize;
        Ok(Self {
            info_type: u8_at(body, 2)?,
            class: u8_at(body, 3)?,
            buffer: slice_at(msg, off, len)?,
            additional_information: u32_at(body, 12)?,
            file_id: FileId::decode(body, 16)?,
        })
    }

    /// The body; the buffer follows at 64 + 32 = 96.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(33 + self.buffer.len());
        put_u16(out, 33);
        put_u8(out, self.info_type);
        put_u8(out, self.class);
        put_u32(out, self.buffer.len() as u32);
        put_u16(out, 96); // BufferOffset
        put_u16(out, 0); // Reserved
        put_u32(out, self.additional_information);
        self.file_id.encode(out);
        out.extend_from_slice(self.buffer);
        if self.buffer.is_empty() {
            out.push(0);
        }
    }
}

pub fn encode_set_info_response(out: &mut Vec<u8>) {
    out.extend_from_slice(&[2, 0]);
}

/// A SET_INFO response is just StructureSize 2 (2.2.40).
pub fn decode_set_info_response(msg: &[u8]) -> WireResult<()> {
    structure_size(msg.get(64..).ok_or(WireError::Short)?, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_query_directory_request() {
        let mut m = vec![0u8; 64];
        m.extend_from_slice(&[33, 0, 37, RESTART_SCANS]); // IdBothDirectory, restart
        m.extend_from_slice(&[0; 4]); // FileIndex
        m.extend_from_slice(&[3; 16]); // FileId
        m.extend_from_slice(&[96, 0, 2, 0]); // FileNameOffset 96, Length 2
        m.extend_from_slice(&65536u32.to_le_bytes());
        m.extend_from_slice(&[b'*', 0]);
        let r = QueryDirectoryRequest::decode(&m).unwrap();
        assert_eq!((r.class, r.flags, r.pattern.as_str(), r.output_length), (37, 1, "*", 65536));
        assert_eq!(to_vec(|b| encode_output_buffer_response(&[], b)), vec![9, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(to_vec(|b| encode_output_buffer_response(&[7], b)), vec![9, 0, 72, 0, 1, 0, 0, 0, 7]);
    }

    #[test]
    fn golden_set_info_request() {
        let mut m = vec![0u8; 64];
        m.extend_from_slice(&[33, 0, INFO_FILE, 20]); // FileEndOfFileInformation
        m.extend_from_slice(&[8, 0, 0, 0, 96, 0, 0, 0]); // BufferLength 8, BufferOffset 96
        m.extend_from_slice(&[0; 4]); // AdditionalInformation
        m.extend_from_slice(&[5; 16]); // FileId
        m.extend_from_slice(&100u64.to_le_bytes());
        let r = SetInfoRequest::decode(&m).unwrap();
        assert_eq!((r.info_type, r.class, r.buffer), (1, 20, &100u64.to_le_bytes()[..]));
    }

    quickcheck::quickcheck! {
        fn decode_never_panics(b: Vec<u8>) -> bool {
            let mut m = vec![0u8; 64];
            m.extend_from_slice(&[33, 0]);
            m.extend_from_slice(&b);
            let _ = QueryDirectoryRequest::decode(&m);
            let _ = SetInfoRequest::decode(&m);
            m[64] = 41;
            let _ = QueryInfoRequest::decode(&m);
            m[64] = 9;
            let _ = decode_output_buffer_response(&m);
            m[64] = 2;
            let _ = decode_set_info_response(&m);
            true
        }
    }
}

#[cfg(test)]
mod roundtrip;
