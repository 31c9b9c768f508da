//! SESSION_SETUP, LOGOFF, TREE_CONNECT, TREE_DISCONNECT and ECHO bodies
//! (MS-SMB2 2.2.5-2.2.12, 2.2.28).

use super::codec::*;
use super::utf16::{from_utf16le, utf16le};

pub const SESSION_FLAG_BINDING: u8 = 0x1;
pub const SESSION_FLAG_IS_GUEST: u16 = 0x1;
pub const SESSION_FLAG_IS_NULL: u16 = 0x2;
/// SMB2_SESSION_FLAG_ENCRYPT_DATA (MS-SMB2 2.2.6): the session is encrypted.
pub const SESSION_FLAG_ENCRYPT_DATA: u16 = 0x4;
/// SMB2_SHAREFLAG_ENCRYPT_DATA (MS-SMB2 2.2.10): the share requires encryption.
pub const SHAREFLAG_ENCRYPT_DATA: u32 = 0x8000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSetupRequest {
    pub flags: u8,
    pub security_mode: u8,
    pub capabilities: u32,
    pub previous_session_id: u64,
    pub security_buffer: Vec<u8>,
}

impl SessionSetupRequest {
    pub fn decode(msg: &[u8]) -> WireResult<Self> {
        let body = msg.get(64..).ok_or(WireError::Short)?;
        structure_size(body, 25)?;
        let off = u16_at(body, 12)? as usize;
        let len = u16_at(body, 14)? as usize;
        Ok(Self {
            flags: u8_at(body, 2)?,
            security_mode: u8_at(body, 3)?,
            capabilities: u32_at(body, 4)?,
            previous_session_id: u64_at(body, 16)?,
            security_buffer: slice_at(msg, off, len)?.to_vec(),
        })
    }

    /// The body; the security buffer follows at 64 + 24 = 88.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(25 + self.security_buffer.len());
        put_u16(out, 25);
        put_u8(out, self.flags);
        put_u8(out, self.security_mode);
        put_u32(out, self.capabilities);
        put_u32(out, 0); // Channel
        put_u16(out, if self.security_buffer.is_empty() { 0 } else { 88 });
        put_u16(out, self.security_buffer.len() as u16);
        put_u64(out, self.previous_session_id);
        out.extend_from_slice(&self.security_buffer);
        if self.security_buffer.is_empty() {
            out.push(0);
        }
    }
}

/// Whether `msg`, a SESSION_SETUP request, asks to bind its session to this
/// connection (SMB2_SESSION_FLAG_BINDING, 2.2.5); false when too short.
pub fn is_binding(msg: &[u8]) -> bool {
    msg.get(64 + 2).is_some_and(|f| f & SESSION_FLAG_BINDING != 0)
}

/// SessionFlags and the security buffer of a SESSION_SETUP response (2.2.6).
pub fn decode_session_setup_response(msg: &[u8]) -> WireResult<(u16, &[u8])> {
    let body = msg.get(64..).ok_or(WireError::Short)?;
    structure_size(body, 9)?;
    let off = u16_at(body, 4)? as usize;
    let len = u16_at(body, 6)? as usize;
    Ok((u16_at(body, 2)?, slice_at(msg, off, len)?))
}

pub fn encode_session_setup_response(session_flags: u16, token: &[u8], out: &mut Vec<u8>) {
    out.reserve(8 + token.len());
    put_u16(out, 9);
    put_u16(out, session_flags);
    put_u16(out, if token.is_empty() { 0 } else { 72 });
    put_u16(out, token.len() as u16);
    out.extend_from_slice(token);
    if token.is_empty() {
        out.push(0);
    }
}

/// LOGOFF, TREE_DISCONNECT, ECHO, FLUSH response, LOCK response: just a
/// StructureSize of 4 and a reserved u16.
pub fn encode_empty_response(out: &mut Vec<u8>) {
    out.extend_from_slice(&[4, 0, 0, 0]);
}

/// LOGOFF, TREE_DISCONNECT, ECHO and CANCEL requests share the same body.
pub fn encode_empty_request(out: &mut Vec<u8>) {
    encode_empty_response(out)
}

/// Checks a StructureSize-4 body (any of the requests or responses above).
pub fn decode_empty(msg: &[u8]) -> WireResult<()> {
    structure_size(msg.get(64..).ok_or(WireError::Short)?, 4)
}

/// The path of a TREE_CONNECT request (`\\server\share`).
pub fn decode_tree_connect(msg: &[u8]) -> WireResult<String> {
    let body = msg.get(64..).ok_or(WireError::Short)?;
    structure_size(body, 9)?;
    let off = u16_at(body, 4)? as usize;
    let len = u16_at(body, 6)? as usize;
    from_utf16le(slice_at(msg, off, len)?)
}

/// A TREE_CONNECT request body for `path`, which follows at 64 + 8 = 72.
pub fn encode_tree_connect(path: &str, out: &mut Vec<u8>) {
    let path = utf16le(path);
    out.reserve(9 + path.len());
    put_u16(out, 9);
    put_u16(out, 0); // Flags
    put_u16(out, if path.is_empty() { 0 } else { 72 });
    put_u16(out, path.len() as u16);
    out.extend_from_slice(&path);
    if path.is_empty() {
        out.push(0);
    }
}

pub const SHARE_TYPE_DISK: u8 = 0x1;
pub const SHARE_TYPE_PIPE: u8 = 0x2;

pub fn encode_tree_connect_response(share_type: u8, share_flags: u32, capabilities: u32, access: u32, out: &mut Vec<u8>) {
    out.reserve(16);
    put_u16(out, 16);
    put_u8(out, share_type);
    put_u8(out, 0);
    put_u32(out, share_flags);
    put_u32(out, capabilities);
    put_u32(out, access);
}

/// The fields of a TREE_CONNECT response (2.2.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeConnectResponse {
    pub share_type: u8,
    pub share_flags: u32,
    pub capabilities: u32,
    pub maximal_access: u32,
}

pub fn decode_tree_connect_response(msg: &[u8]) -> WireResult<TreeConnectResponse> {
    let body = msg.get(64..).ok_or(WireError::Short)?;
    structure_size(body, 16)?;
    Ok(TreeConnectResponse {
        share_type: u8_at(body, 2)?,
        share_flags: u32_at(body, 4)?,
        capabilities: u32_at(body, 8)?,
        maximal_access: u32_at(body, 12)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_session_setup_request() {
        let mut m = vec![0u8; 64];
        m.extend_from_slice(&[25, 0, 0, 1]); // StructureSize, Flags 0, SecurityMode signing enabled
        m.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]); // Capabilities DFS, Channel
        m.extend_from_slice(&[88, 0, 3, 0]); // SecurityBufferOffset 88, Length 3
        m.extend_from_slice(&[0; 8]); // PreviousSessionId
        m.extend_from_slice(&[0x60, 0x82, 0x01]);
        let r = SessionSetupRequest::decode(&m).unwrap();
        assert_eq!(r.security_buffer, vec![0x60, 0x82, 0x01]);
        assert_eq!(r.security_mode, 1);
        m[64 + 14] = 4; // length past the end
        assert!(SessionSetupRequest::decode(&m).is_err());
    }

    #[test]
    fn golden_responses() {
        assert_eq!(to_vec(|b| encode_session_setup_response(1, &[], b)), vec![9, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(to_vec(|b| encode_session_setup_response(0, &[0xA1], b)), vec![9, 0, 0, 0, 72, 0, 1, 0, 0xA1]);
        assert_eq!(
            to_vec(|b| encode_tree_connect_response(SHARE_TYPE_DISK, 0, 0, 0x001F01FF, b)),
            vec![16, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0x01, 0x1F, 0x00]
        );
    }

    #[test]
    fn tree_connect_path() {
        let mut m = vec![0u8; 64];
        m.extend_from_slice(&[9, 0, 0, 0, 72, 0, 8, 0]);
        m.extend_from_slice(&utf16le("\\\\a\\"));
        assert_eq!(decode_tree_connect(&m).unwrap(), "\\\\a\\");
    }

    quickcheck::quickcheck! {
        fn decode_never_panics(b: Vec<u8>) -> bool {
            let mut m = vec![0u8; 64];
            m.extend_from_slice(&[25, 0]);
            m.extend_from_slice(&b);
            let _ = SessionSetupRequest::decode(&m);
            m[64] = 9;
            let _ = decode_tree_connect(&m);
            true
        }
    }
}

#[cfg(test)]
mod roundtrip;
