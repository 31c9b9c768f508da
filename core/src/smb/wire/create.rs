//! CREATE request and response (MS-SMB2 2.2.13, 2.2.14).

use bytes::Bytes;

use super::codec::*;
use super::utf16::{from_utf16le, utf16le};
use crate::time::Timespec;

pub mod disposition {
    pub const SUPERSEDE: u32 = 0;
    pub const OPEN: u32 = 1;
    pub const CREATE: u32 = 2;
    pub const OPEN_IF: u32 = 3;
    pub const OVERWRITE: u32 = 4;
    pub const OVERWRITE_IF: u32 = 5;
}

pub mod options {
    pub const DIRECTORY_FILE: u32 = 0x0000_0001;
    pub const NON_DIRECTORY_FILE: u32 = 0x0000_0040;
    pub const NO_EA_KNOWLEDGE: u32 = 0x0000_0200;
    pub const DELETE_ON_CLOSE: u32 = 0x0000_1000;
}

pub mod action {
    pub const SUPERSEDED: u32 = 0;
    pub const OPENED: u32 = 1;
    pub const CREATED: u32 = 2;
    pub const OVERWRITTEN: u32 = 3;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRequest {
    pub oplock_level: u8,
    pub impersonation_level: u32,
    pub desired_access: u32,
    pub file_attributes: u32,
    pub share_access: u32,
    pub disposition: u32,
    pub options: u32,
    pub name: String,
    /// The raw create-context chain (from its first element).
    pub contexts: Bytes,
}

impl CreateRequest {
    pub fn decode(msg: &[u8]) -> WireResult<Self> {
        let body = msg.get(64..).ok_or(WireError::Short)?;
        structure_size(body, 57)?;
        let name_off = u16_at(body, 44)? as usize;
        let name_len = u16_at(body, 46)? as usize;
        let ctx_off = u32_at(body, 48)? as usize;
        let ctx_len = u32_at(body, 52)? as usize;
        let name = from_utf16le(slice_at(msg, name_off, name_len)?)?;
        let contexts = Bytes::copy_from_slice(slice_at(msg, ctx_off, ctx_len)?);
        Ok(Self {
            oplock_level: u8_at(body, 3)?,
            impersonation_level: u32_at(body, 4)?,
            desired_access: u32_at(body, 24)?,
            file_attributes: u32_at(body, 28)?,
            share_access: u32_at(body, 32)?,
            disposition: u32_at(body, 36)?,
            options: u32_at(body, 40)?,
            name,
            contexts,
        })
    }

    /// The body: the name at 64 + 56 = 120, the contexts 8-aligned after it.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let name = utf16le(&self.name);
        let start = out.len();
        out.reserve(64 + name.len() + self.contexts.len());
        put_u16(out, 57);
        put_u8(out, 0); // SecurityFlags
        put_u8(out, self.oplock_level);
        put_u32(out, self.impersonation_level);
        put_u64(out, 0); // SmbCreateFlags
        put_u64(out, 0); // Reserved
        put_u32(out, self.desired_access);
        put_u32(out, self.file_attributes);
        put_u32(out, self.share_access);
        put_u32(out, self.disposition);
        put_u32(out, self.options);
        put_u16(out, 120); // NameOffset
        put_u16(out, name.len() as u16);
        put_u32(out, 0); // CreateContextsOffset, patched below
        put_u32(out, self.contexts.len() as u32);
        out.extend_from_slice(&name);
        if !self.contexts.is_empty() {
            pad_to(out, start, 8);
            let off = (64 + out.len() - start) as u32;
            patch_u32(out, start + 48, off);
            out.extend_from_slice(&self.contexts);
        }
        if out.len() - start == 56 {
            out.push(0); // StructureSize 57 counts one byte of Buffer
        }
    }
}

/// Times and sizes reported by CREATE and CLOSE responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetworkOpenInfo {
    pub creation: u64,
    pub last_access: u64,
    pub last_write: u64,
    pub change: u64,
    pub allocation_size: u64,
    pub end_of_file: u64,
    pub attributes: u32,
}

impl NetworkOpenInfo {
    pub fn times(btime: Timespec, atime: Timespec, mtime: Timespec, ctime: Timespec) -> [u64; 4] {
        [btime.to_filetime(), atime.to_filetime(), mtime.to_filetime(), ctime.to_filetime()]
    }

    /// The 52 bytes at `off`: four FILETIMEs, two sizes, FileAttributes.
    pub fn decode(b: &[u8], off: usize) -> WireResult<Self> {
        Ok(Self {
            creation: u64_at(b, off)?,
            last_access: u64_at(b, off + 8)?,
            last_write: u64_at(b, off + 16)?,
            change: u64_at(b, off + 24)?,
            allocation_size: u64_at(b, off + 32)?,
            end_of_file: u64_at(b, off + 40)?,
            attributes: u32_at(b, off + 48)?,
        })
    }

    fn encode(&self, b: &mut Vec<u8>) {
        put_u64(b, self.creation);
        put_u64(b, self.last_access);
        put_u64(b, self.last_write);
        put_u64(b, self.change);
        put_u64(b, self.allocation_size);
        put_u64(b, self.end_of_file);
        put_u32(b, self.attributes);
    }
}

pub fn encode_create_response(
    oplock_level: u8,
    create_action: u32,
    info: &NetworkOpenInfo,
    file_id: FileId,
    contexts: &[u8],
) -> Vec<u8> {
    let mut b = Vec::with_capacity(88 + contexts.len());
    put_u16(&mut b, 89);
    put_u8(&mut b, oplock_level);
    put_u8(&mut b, 0); // Flags
    put_u32(&mut b, create_action);
    info.encode(&mut b);
    put_u32(&mut b, 0); // Reserved2
    file_id.encode(&mut b);
    match contexts.is_empty() {
        true => {
            put_u32(&mut b, 0);
            put_u32(&mut b, 0);
            b.push(0);
        }
        false => {
            put_u32(&mut b, 64 + 88);
            put_u32(&mut b, contexts.len() as u32);
            b.extend_from_slice(contexts);
        }
    }
    b
}

/// The fields of a CREATE response (2.2.14); `contexts` is the raw chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateResponse<'a> {
    pub oplock_level: u8,
    pub create_action: u32,
    pub info: NetworkOpenInfo,
    pub file_id: FileId,
    pub contexts: &'a [u8],
}

pub fn decode_create_response(msg: &[u8]) -> WireResult<CreateResponse<'_>> {
    let body = msg.get(64..).ok_or(WireError::Short)?;
    structure_size(body, 89)?;
    let ctx_off = u32_at(body, 80)? as usize;
    let ctx_len = u32_at(body, 84)? as usize;
    Ok(CreateResponse {
        oplock_level: u8_at(body, 2)?,
        create_action: u32_at(body, 4)?,
        info: NetworkOpenInfo::decode(body, 8)?,
        file_id: FileId::decode(body, 64)?,
        contexts: slice_at(msg, ctx_off, ctx_len)?,
    })
}

pub const CLOSE_FLAG_POSTQUERY_ATTRIB: u16 = 0x1;

/// A CLOSE request body (2.2.15).
pub fn encode_close(flags: u16, file_id: FileId, out: &mut Vec<u8>) {
    out.reserve(24);
    put_u16(out, 24);
    put_u16(out, flags);
    put_u32(out, 0); // Reserved
    file_id.encode(out);
}

/// A CLOSE response (2.2.16): the attributes when POSTQUERY_ATTRIB is set.
pub fn decode_close_response(msg: &[u8]) -> WireResult<Option<NetworkOpenInfo>> {
    let body = msg.get(64..).ok_or(WireError::Short)?;
    structure_size(body, 60)?;
    let info = NetworkOpenInfo::decode(body, 8)?;
    Ok((u16_at(body, 2)? & CLOSE_FLAG_POSTQUERY_ATTRIB != 0).then_some(info))
}

pub fn decode_close(msg: &[u8]) -> WireResult<(u16, FileId)> {
    let body = msg.get(64..).ok_or(WireError::Short)?;
    structure_size(body, 24)?;
    Ok((u16_at(body, 2)?, FileId::decode(body, 8)?))
}

/// `info` is None when POSTQUERY_ATTRIB was not asked for (all zero).
pub fn encode_close_response(info: Option<&NetworkOpenInfo>, out: &mut Vec<u8>) {
    out.reserve(60);
    put_u16(out, 60);
    put_u16(out, if info.is_some() { CLOSE_FLAG_POSTQUERY_ATTRIB } else { 0 });
    put_u32(out, 0);
    info.copied().unwrap_or_default().encode(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn create_request(name: &str, access: u32, share: u32, disp: u32, opts: u32) -> Vec<u8> {
        let mut m = vec![0u8; 64];
        let name16 = utf16le(name);
        m.extend_from_slice(&[57, 0, 0, 0]); // StructureSize, SecurityFlags, RequestedOplockLevel
        m.extend_from_slice(&2u32.to_le_bytes()); // ImpersonationLevel
        m.extend_from_slice(&[0; 16]); // SmbCreateFlags, Reserved
        m.extend_from_slice(&access.to_le_bytes());
        m.extend_from_slice(&0x80u32.to_le_bytes()); // FileAttributes NORMAL
        m.extend_from_slice(&share.to_le_bytes());
        m.extend_from_slice(&disp.to_le_bytes());
        m.extend_from_slice(&opts.to_le_bytes());
        m.extend_from_slice(&120u16.to_le_bytes()); // NameOffset = 64 + 56
        m.extend_from_slice(&(name16.len() as u16).to_le_bytes());
        m.extend_from_slice(&[0; 8]); // no create contexts
        m.extend_from_slice(&name16);
        m
    }

    #[test]
    fn golden_create_request() {
        let m = create_request("a\\b.txt", 0x0012_0089, 7, disposition::OPEN_IF, options::NON_DIRECTORY_FILE);
        let r = CreateRequest::decode(&m).unwrap();
        assert_eq!(r.name, "a\\b.txt");
        assert_eq!((r.desired_access, r.share_access, r.disposition, r.options), (0x0012_0089, 7, 3, 0x40));
        assert!(r.contexts.is_empty());
    }

    #[test]
    fn create_response_is_89_bytes_without_contexts() {
        let b = encode_create_response(0, action::CREATED, &NetworkOpenInfo::default(), FileId::default(), &[]);
        assert_eq!(b.len(), 89);
        assert_eq!(&b[4..8], &[2, 0, 0, 0]);
        let b = encode_create_response(0, 1, &NetworkOpenInfo::default(), FileId::default(), &[1; 8]);
        assert_eq!(&b[80..88], &[152, 0, 0, 0, 8, 0, 0, 0]);
        assert_eq!(to_vec(|b| encode_close_response(None, b)).len(), 60);
    }

    quickcheck::quickcheck! {
        fn decode_never_panics(b: Vec<u8>) -> bool {
            let mut m = vec![0u8; 64];
            m.extend_from_slice(&[57, 0]);
            m.extend_from_slice(&b);
            let _ = CreateRequest::decode(&m);
            m[64] = 24;
            let _ = decode_close(&m);
            m[64] = 89;
            let _ = decode_create_response(&m);
            m[64] = 60;
            let _ = decode_close_response(&m);
            true
        }
    }
}

#[cfg(test)]
mod roundtrip;
