//! IOCTL request and response (MS-SMB2 2.2.31, 2.2.32) and
//! VALIDATE_NEGOTIATE_INFO (2.2.31.4, 2.2.32.6).

use super::codec::*;

pub const FSCTL_DFS_GET_REFERRALS: u32 = 0x0006_0194;
pub const FSCTL_DFS_GET_REFERRALS_EX: u32 = 0x0006_01B0;
pub const FSCTL_VALIDATE_NEGOTIATE_INFO: u32 = 0x0014_0204;
pub const FSCTL_QUERY_NETWORK_INTERFACE_INFO: u32 = 0x0014_01FC;
pub const FSCTL_LMR_REQUEST_RESILIENCY: u32 = 0x0014_01D4;
pub const IOCTL_IS_FSCTL: u32 = 0x1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoctlRequest<'a> {
    pub ctl_code: u32,
    pub file_id: FileId,
    pub input: &'a [u8],
    pub max_output: u32,
    pub flags: u32,
}

impl<'a> IoctlRequest<'a> {
    pub fn decode(msg: &'a [u8]) -> WireResult<Self> {
        let body = msg.get(64..).ok_or(WireError::Short)?;
        structure_size(body, 57)?;
        let off = u32_at(body, 24)? as usize;
        let len = u32_at(body, 28)? as usize;
        Ok(Self {
            ctl_code: u32_at(body, 4)?,
            file_id: FileId::decode(body, 8)?,
            input: slice_at(msg, off, len)?,
            max_output: u32_at(body, 44)?,
            flags: u32_at(body, 48)?,
        })
    }

    /// The body; the input follows at 64 + 56 = 120, no output buffer.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(57 + self.input.len());
        put_u16(out, 57);
        put_u16(out, 0); // Reserved
        put_u32(out, self.ctl_code);
        self.file_id.encode(out);
        put_u32(out, if self.input.is_empty() { 0 } else { 120 });
        put_u32(out, self.input.len() as u32);
        put_u32(out, 0); // MaxInputResponse
        put_u32(out, 0); // OutputOffset
        put_u32(out, 0); // OutputCount
        put_u32(out, self.max_output);
        put_u32(out, self.flags);
        put_u32(out, 0); // Reserved2
        out.extend_from_slice(self.input);
        if self.input.is_empty() {
            out.push(0);
        }
    }
}

pub fn encode_ioctl_response(ctl_code: u32, file_id: FileId, output: &[u8], out: &mut Vec<u8>) {
    out.reserve(48 + output.len());
    put_u16(out, 49);
    put_u16(out, 0);
    put_u32(out, ctl_code);
    file_id.encode(out);
    put_u32(out, 112); // InputOffset
    put_u32(out, 0); // InputCount
    put_u32(out, 112); // OutputOffset
    put_u32(out, output.len() as u32);
    put_u32(out, 0); // Flags
    put_u32(out, 0); // Reserved2
    out.extend_from_slice(output);
}

/// The fields of an IOCTL response the server fills (2.2.32).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoctlResponse<'a> {
    pub ctl_code: u32,
    pub file_id: FileId,
    pub output: &'a [u8],
}

pub fn decode_ioctl_response(msg: &[u8]) -> WireResult<IoctlResponse<'_>> {
    let body = msg.get(64..).ok_or(WireError::Short)?;
    structure_size(body, 49)?;
    let off = u32_at(body, 32)? as usize;
    let len = u32_at(body, 36)? as usize;
    Ok(IoctlResponse {
        ctl_code: u32_at(body, 4)?,
        file_id: FileId::decode(body, 8)?,
        output: slice_at(msg, off, len)?,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateNegotiateInfo {
    pub capabilities: u32,
    pub guid: [u8; 16],
    pub security_mode: u16,
    pub dialects: Vec<u16>,
}

impl ValidateNegotiateInfo {
    pub fn decode(b: &[u8]) -> WireResult<Self> {
        let n = u16_at(b, 22)? as usize;
        if n > 64 {
            return Err(WireError::Invalid);
        }
        Ok(Self {
            capabilities: u32_at(b, 0)?,
            guid: array_at::<16>(b, 4)?,
            security_mode: u16_at(b, 20)?,
            dialects: (0..n).map(|i| u16_at(b, 24 + 2 * i)).collect::<WireResult<_>>()?,
        })
    }

    /// The request input (2.2.31.4).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(24 + 2 * self.dialects.len());
        put_u32(out, self.capabilities);
        out.extend_from_slice(&self.guid);
        put_u16(out, self.security_mode);
        put_u16(out, self.dialects.len() as u16);
        for d in &self.dialects {
            put_u16(out, *d);
        }
    }
}

/// The VALIDATE_NEGOTIATE_INFO response output (2.2.32.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidateNegotiateResponse {
    pub capabilities: u32,
    pub guid: [u8; 16],
    pub security_mode: u16,
    pub dialect: u16,
}

pub fn decode_validate_negotiate_response(b: &[u8]) -> WireResult<ValidateNegotiateResponse> {
    Ok(ValidateNegotiateResponse {
        capabilities: u32_at(b, 0)?,
        guid: array_at::<16>(b, 4)?,
        security_mode: u16_at(b, 20)?,
        dialect: u16_at(b, 22)?,
    })
}

/// VALIDATE_NEGOTIATE_INFO response: 24 bytes.
pub fn encode_validate_negotiate_response(
    capabilities: u32,
    guid: &[u8; 16],
    security_mode: u16,
    dialect: u16,
) -> Vec<u8> {
    let mut b = Vec::with_capacity(24);
    put_u32(&mut b, capabilities);
    b.extend_from_slice(guid);
    put_u16(&mut b, security_mode);
    put_u16(&mut b, dialect);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_validate_negotiate() {
        let mut input = vec![0x44, 0, 0, 0]; // Capabilities
        input.extend_from_slice(&[7; 16]); // Guid
        input.extend_from_slice(&[1, 0, 2, 0, 0x02, 0x03, 0x00, 0x03]); // SecurityMode 1, 2 dialects
        let v = ValidateNegotiateInfo::decode(&input).unwrap();
        assert_eq!(v.dialects, vec![0x0302, 0x0300]);
        let r = encode_validate_negotiate_response(0x6, &[1; 16], 1, 0x0302);
        assert_eq!(r.len(), 24);
        assert_eq!(&r[20..], &[1, 0, 2, 3]);
        let resp = to_vec(|b| encode_ioctl_response(FSCTL_VALIDATE_NEGOTIATE_INFO, FileId::RELATED, &r, b));
        assert_eq!(resp.len(), 48 + 24);
        assert_eq!(&resp[32..36], &[112, 0, 0, 0]);
    }

    quickcheck::quickcheck! {
        fn decode_never_panics(b: Vec<u8>) -> bool {
            let mut m = vec![0u8; 64];
            m.extend_from_slice(&[57, 0]);
            m.extend_from_slice(&b);
            let _ = IoctlRequest::decode(&m);
            let _ = ValidateNegotiateInfo::decode(&b);
            let _ = decode_validate_negotiate_response(&b);
            m[64] = 49;
            let _ = decode_ioctl_response(&m);
            true
        }
    }
}

#[cfg(test)]
mod roundtrip;
