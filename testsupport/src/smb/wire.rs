//! SMB2 message layouts the client sends and reads (MS-SMB2 2.2), over
//! Direct TCP transport framing (MS-SMB2 2.1).

use crate::{Error, Result};

pub const HEADER_LEN: usize = 64;
/// Largest response accepted (a 1 MiB READ plus headers).
pub const MAX_MESSAGE: usize = (1 << 20) + 4096;

/// Commands (MS-SMB2 2.2.1).
pub mod command {
    pub const NEGOTIATE: u16 = 0x00;
    pub const SESSION_SETUP: u16 = 0x01;
    pub const LOGOFF: u16 = 0x02;
    pub const TREE_CONNECT: u16 = 0x03;
    pub const TREE_DISCONNECT: u16 = 0x04;
    pub const CREATE: u16 = 0x05;
    pub const CLOSE: u16 = 0x06;
    pub const READ: u16 = 0x08;
    pub const WRITE: u16 = 0x09;
    pub const ECHO: u16 = 0x0D;
    pub const OPLOCK_BREAK: u16 = 0x12;
    pub const SET_INFO: u16 = 0x11;
}

/// NTSTATUS values the client tells apart (MS-ERREF 2.3).
pub mod status {
    pub const SUCCESS: u32 = 0;
    pub const PENDING: u32 = 0x0000_0103;
    pub const MORE_PROCESSING_REQUIRED: u32 = 0xC000_0016;
    pub const END_OF_FILE: u32 = 0xC000_0011;
}

pub const FLAGS_SERVER_TO_REDIR: u32 = 0x1;
pub const FLAGS_ASYNC_COMMAND: u32 = 0x2;

/// The SMB2 header fields a client reads (MS-SMB2 2.2.1.1, 2.2.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub credit_charge: u16,
    pub status: u32,
    pub command: u16,
    pub credits: u16,
    pub flags: u32,
    pub message_id: u64,
    /// TreeId for sync messages, AsyncId for async ones.
    pub tree_or_async_id: u64,
    pub session_id: u64,
}

/// A request's addressing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHeader {
    pub command: u16,
    pub credit_charge: u16,
    pub credit_request: u16,
    pub message_id: u64,
    pub tree_id: u32,
    pub session_id: u64,
}

pub fn u16_at(b: &[u8], at: usize) -> Result<u16> {
    b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]])).ok_or(Error::Malformed("short SMB2 message"))
}

pub fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    Ok(u32::from(u16_at(b, at)?) | (u32::from(u16_at(b, at + 2)?) << 16))
}

pub fn u64_at(b: &[u8], at: usize) -> Result<u64> {
    Ok(u64::from(u32_at(b, at)?) | (u64::from(u32_at(b, at + 4)?) << 32))
}

/// Encodes a request: Direct TCP header, SMB2 sync header, body.
pub fn encode_request(h: &RequestHeader, body: &[u8]) -> Vec<u8> {
    let len = HEADER_LEN + body.len();
    let mut m = Vec::with_capacity(4 + len);
    m.extend((len as u32).to_be_bytes()); // the top byte is the zero type byte
    m.extend(*b"\xfeSMB");
    m.extend(64u16.to_le_bytes());
    m.extend(h.credit_charge.to_le_bytes());
    m.extend(0u32.to_le_bytes()); // ChannelSequence + Reserved
    m.extend(h.command.to_le_bytes());
    m.extend(h.credit_request.to_le_bytes());
    m.extend(0u32.to_le_bytes()); // Flags
    m.extend(0u32.to_le_bytes()); // NextCommand
    m.extend(h.message_id.to_le_bytes());
    m.extend(0xFEFFu32.to_le_bytes()); // Reserved (ProcessId)
    m.extend(h.tree_id.to_le_bytes());
    m.extend(h.session_id.to_le_bytes());
    m.extend([0; 16]); // Signature
    m.extend_from_slice(body);
    m
}

/// Decodes a response header (the message without the Direct TCP header).
pub fn decode_header(m: &[u8]) -> Result<Header> {
    if m.len() < HEADER_LEN || m[..4] != *b"\xfeSMB" || u16_at(m, 4)? != 64 {
        return Err(Error::Malformed("not an SMB2 header"));
    }
    Ok(Header {
        credit_charge: u16_at(m, 6)?,
        status: u32_at(m, 8)?,
        command: u16_at(m, 12)?,
        credits: u16_at(m, 14)?,
        flags: u32_at(m, 16)?,
        message_id: u64_at(m, 24)?,
        tree_or_async_id: u64_at(m, 32)?,
        session_id: u64_at(m, 40)?,
    })
}

/// A response's body, after the 64-byte header.
pub fn body(m: &[u8]) -> Result<&[u8]> {
    m.get(HEADER_LEN..).ok_or(Error::Malformed("short SMB2 message"))
}

/// The bytes at a header-relative (offset, length) of a response.
pub fn buffer(m: &[u8], offset: usize, len: usize) -> Result<&[u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    m.get(offset..offset.saturating_add(len)).ok_or(Error::Malformed("buffer outside the message"))
}

/// NEGOTIATE request (2.2.3), no negotiate contexts (dialects below 3.1.1).
pub fn negotiate(dialects: &[u16], client_guid: [u8; 16]) -> Vec<u8> {
    let mut b = Vec::with_capacity(36 + 2 * dialects.len());
    b.extend(36u16.to_le_bytes());
    b.extend((dialects.len() as u16).to_le_bytes());
    b.extend(1u16.to_le_bytes()); // SecurityMode: SIGNING_ENABLED
    b.extend(0u16.to_le_bytes());
    b.extend(0u32.to_le_bytes()); // Capabilities
    b.extend(client_guid);
    b.extend(0u64.to_le_bytes()); // ClientStartTime
    for d in dialects {
        b.extend(d.to_le_bytes());
    }
    b
}

/// NEGOTIATE response (2.2.4): DialectRevision, MaxReadSize, MaxWriteSize.
pub fn negotiate_response(m: &[u8]) -> Result<(u16, u32, u32)> {
    let b = body(m)?;
    if u16_at(b, 0)? != 65 {
        return Err(Error::Malformed("NEGOTIATE response StructureSize"));
    }
    Ok((u16_at(b, 4)?, u32_at(b, 32)?, u32_at(b, 36)?))
}

/// SESSION_SETUP request (2.2.5).
pub fn session_setup(token: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(24 + token.len());
    b.extend(25u16.to_le_bytes());
    b.push(0); // Flags
    b.push(1); // SecurityMode: SIGNING_ENABLED
    b.extend(0u32.to_le_bytes()); // Capabilities
    b.extend(0u32.to_le_bytes()); // Channel
    b.extend(((HEADER_LEN + 24) as u16).to_le_bytes());
    b.extend((token.len() as u16).to_le_bytes());
    b.extend(0u64.to_le_bytes()); // PreviousSessionId
    b.extend_from_slice(token);
    b
}

/// SESSION_SETUP response (2.2.6): SessionFlags and the security buffer.
pub fn session_setup_response(m: &[u8]) -> Result<(u16, &[u8])> {
    let b = body(m)?;
    if u16_at(b, 0)? != 9 {
        return Err(Error::Malformed("SESSION_SETUP response StructureSize"));
    }
    Ok((u16_at(b, 2)?, buffer(m, usize::from(u16_at(b, 4)?), usize::from(u16_at(b, 6)?))?))
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// TREE_CONNECT request (2.2.9) for a UNC path.
pub fn tree_connect(path: &str) -> Vec<u8> {
    let path = utf16(path);
    let mut b = Vec::with_capacity(8 + path.len());
    b.extend(9u16.to_le_bytes());
    b.extend(0u16.to_le_bytes());
    b.extend(((HEADER_LEN + 8) as u16).to_le_bytes());
    b.extend((path.len() as u16).to_le_bytes());
    b.extend(path);
    b
}

/// CREATE request parameters (2.2.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateRequest<'a> {
    pub name: &'a str,
    pub desired_access: u32,
    pub share_access: u32,
    pub disposition: u32,
    pub options: u32,
}

pub const FILE_READ_DATA: u32 = 0x1;
pub const FILE_WRITE_DATA: u32 = 0x2;
pub const FILE_READ_ATTRIBUTES: u32 = 0x80;
pub const FILE_WRITE_ATTRIBUTES: u32 = 0x100;
pub const DELETE: u32 = 0x1_0000;
pub const SHARE_ALL: u32 = 0x7;
pub const FILE_OPEN: u32 = 1;
pub const FILE_CREATE: u32 = 2;
pub const FILE_OPEN_IF: u32 = 3;
pub const FILE_OVERWRITE_IF: u32 = 5;
pub const FILE_NON_DIRECTORY_FILE: u32 = 0x40;
pub const FILE_DELETE_ON_CLOSE: u32 = 0x1000;

/// CREATE request body, no create contexts, no oplock.
pub fn create(r: &CreateRequest) -> Vec<u8> {
    let name = utf16(r.name);
    let mut b = Vec::with_capacity(56 + name.len().max(1));
    b.extend(57u16.to_le_bytes());
    b.push(0); // SecurityFlags
    b.push(0); // RequestedOplockLevel: NONE
    b.extend(2u32.to_le_bytes()); // ImpersonationLevel: Impersonation
    b.extend([0; 16]); // SmbCreateFlags, Reserved
    b.extend(r.desired_access.to_le_bytes());
    b.extend(0x80u32.to_le_bytes()); // FileAttributes: NORMAL
    b.extend(r.share_access.to_le_bytes());
    b.extend(r.disposition.to_le_bytes());
    b.extend(r.options.to_le_bytes());
    b.extend(((HEADER_LEN + 56) as u16).to_le_bytes());
    b.extend((name.len() as u16).to_le_bytes());
    b.extend([0; 8]); // CreateContextsOffset, CreateContextsLength
    if name.is_empty() {
        b.push(0); // the Buffer is at least one byte
    }
    b.extend(name);
    b
}

/// A CREATE response's FileId and EndOfFile (2.2.14).
pub fn create_response(m: &[u8]) -> Result<([u8; 16], u64)> {
    let b = body(m)?;
    if u16_at(b, 0)? != 89 {
        return Err(Error::Malformed("CREATE response StructureSize"));
    }
    let file_id = b.get(64..80).and_then(|s| s.try_into().ok()).ok_or(Error::Malformed("short CREATE response"))?;
    Ok((file_id, u64_at(b, 48)?))
}

/// CLOSE request (2.2.15).
pub fn close(file_id: &[u8; 16]) -> Vec<u8> {
    let mut b = Vec::with_capacity(24);
    b.extend(24u16.to_le_bytes());
    b.extend(0u16.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend(file_id);
    b
}

/// READ request (2.2.19).
pub fn read(file_id: &[u8; 16], offset: u64, length: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(49);
    b.extend(49u16.to_le_bytes());
    b.push(0x50); // Padding: data right after the 80-byte response fixed part
    b.push(0); // Flags
    b.extend(length.to_le_bytes());
    b.extend(offset.to_le_bytes());
    b.extend(file_id);
    b.extend(0u32.to_le_bytes()); // MinimumCount
    b.extend(0u32.to_le_bytes()); // Channel
    b.extend(0u32.to_le_bytes()); // RemainingBytes
    b.extend([0; 4]); // ReadChannelInfoOffset, ReadChannelInfoLength
    b.push(0); // Buffer
    b
}

/// READ response data (2.2.20).
pub fn read_response(m: &[u8]) -> Result<&[u8]> {
    let b = body(m)?;
    if u16_at(b, 0)? != 17 {
        return Err(Error::Malformed("READ response StructureSize"));
    }
    let offset = usize::from(*b.get(2).ok_or(Error::Malformed("short READ response"))?);
    buffer(m, offset, u32_at(b, 4)? as usize)
}

/// WRITE request (2.2.21).
pub fn write(file_id: &[u8; 16], offset: u64, data: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(48 + data.len());
    b.extend(49u16.to_le_bytes());
    b.extend(((HEADER_LEN + 48) as u16).to_le_bytes()); // DataOffset
    b.extend((data.len() as u32).to_le_bytes());
    b.extend(offset.to_le_bytes());
    b.extend(file_id);
    b.extend(0u32.to_le_bytes()); // Channel
    b.extend(0u32.to_le_bytes()); // RemainingBytes
    b.extend([0; 4]); // WriteChannelInfoOffset, WriteChannelInfoLength
    b.extend(0u32.to_le_bytes()); // Flags
    b.extend_from_slice(data);
    b
}

/// WRITE response Count (2.2.22).
pub fn write_response(m: &[u8]) -> Result<u32> {
    let b = body(m)?;
    if u16_at(b, 0)? != 17 {
        return Err(Error::Malformed("WRITE response StructureSize"));
    }
    u32_at(b, 4)
}

pub const SMB2_0_INFO_FILE: u8 = 1;
/// MS-FSCC 2.4.13 FileEndOfFileInformation.
pub const FILE_END_OF_FILE_INFORMATION: u8 = 20;
/// MS-FSCC 2.4.11 FileDispositionInformation.
pub const FILE_DISPOSITION_INFORMATION: u8 = 13;

/// SET_INFO request (2.2.39).
pub fn set_info(file_id: &[u8; 16], info_type: u8, class: u8, info: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(32 + info.len());
    b.extend(33u16.to_le_bytes());
    b.push(info_type);
    b.push(class);
    b.extend((info.len() as u32).to_le_bytes());
    b.extend(((HEADER_LEN + 32) as u16).to_le_bytes());
    b.extend(0u16.to_le_bytes());
    b.extend(0u32.to_le_bytes()); // AdditionalInformation
    b.extend(file_id);
    b.extend_from_slice(info);
    b
}

#[cfg(test)]
mod tests;
