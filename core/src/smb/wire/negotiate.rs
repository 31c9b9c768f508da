//! NEGOTIATE request and response (MS-SMB2 2.2.3, 2.2.4) with negotiate
//! contexts (2.2.3.1).

use super::codec::*;

pub const DIALECT_202: u16 = 0x0202;
pub const DIALECT_210: u16 = 0x0210;
pub const DIALECT_300: u16 = 0x0300;
pub const DIALECT_302: u16 = 0x0302;
pub const DIALECT_311: u16 = 0x0311;
/// "SMB 2.???": the client is to re-negotiate with an SMB2 NEGOTIATE.
pub const DIALECT_WILDCARD: u16 = 0x02FF;

pub const SIGNING_ENABLED: u16 = 0x1;
pub const SIGNING_REQUIRED: u16 = 0x2;

pub const CAP_DFS: u32 = 0x1;
pub const CAP_LEASING: u32 = 0x2;
pub const CAP_LARGE_MTU: u32 = 0x4;
/// SMB2_GLOBAL_CAP_MULTI_CHANNEL (MS-SMB2 2.2.4): sessions bind to more
/// than one connection.
pub const CAP_MULTI_CHANNEL: u32 = 0x8;
/// SMB2_GLOBAL_CAP_DIRECTORY_LEASING (MS-SMB2 2.2.4): leases on directories.
pub const CAP_DIRECTORY_LEASING: u32 = 0x20;
pub const CAP_ENCRYPTION: u32 = 0x40;

pub const PREAUTH_INTEGRITY_CAPABILITIES: u16 = 0x1;
pub const ENCRYPTION_CAPABILITIES: u16 = 0x2;
pub const SIGNING_CAPABILITIES: u16 = 0x8;
pub const HASH_SHA512: u16 = 0x1;

pub const SIGN_HMAC_SHA256: u16 = 0;
pub const SIGN_AES_CMAC: u16 = 1;
pub const SIGN_AES_GMAC: u16 = 2;

/// Most dialects and contexts a request may carry (bounds allocations).
const MAX_ITEMS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiateContext {
    pub context_type: u16,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegotiateRequest {
    pub security_mode: u16,
    pub capabilities: u32,
    pub client_guid: [u8; 16],
    pub dialects: Vec<u16>,
    /// Present only when 3.1.1 is among the dialects.
    pub contexts: Vec<NegotiateContext>,
}

impl NegotiateRequest {
    /// `msg` is the whole message from the SMB2 header on.
    pub fn decode(msg: &[u8]) -> WireResult<Self> {
        let body = msg.get(64..).ok_or(WireError::Short)?;
        structure_size(body, 36)?;
        let count = u16_at(body, 2)? as usize;
        if count == 0 || count > MAX_ITEMS {
            return Err(WireError::Invalid);
        }
        let mut dialects = Vec::with_capacity(count);
        for i in 0..count {
            dialects.push(u16_at(body, 36 + 2 * i)?);
        }
        let mut req = NegotiateRequest {
            security_mode: u16_at(body, 4)?,
            capabilities: u32_at(body, 8)?,
            client_guid: array_at::<16>(body, 12)?,
            dialects,
            contexts: Vec::new(),
        };
        if req.dialects.contains(&DIALECT_311) {
            req.contexts = decode_contexts(msg, u32_at(body, 28)? as usize, u16_at(body, 32)? as usize)?;
        }
        Ok(req)
    }

    /// The body (after the 64-byte header); offsets count from the header.
    /// Contexts are written only when 3.1.1 is offered, as a client would.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.reserve(64 + 2 * self.dialects.len());
        put_u16(out, 36);
        put_u16(out, self.dialects.len() as u16);
        put_u16(out, self.security_mode);
        put_u16(out, 0); // Reserved
        put_u32(out, self.capabilities);
        out.extend_from_slice(&self.client_guid);
        let contexts: &[NegotiateContext] = match self.dialects.contains(&DIALECT_311) {
            true => &self.contexts,
            false => &[],
        };
        put_u32(out, 0); // NegotiateContextOffset, patched below
        put_u16(out, contexts.len() as u16);
        put_u16(out, 0); // Reserved2
        for d in &self.dialects {
            put_u16(out, *d);
        }
        encode_contexts(out, start, 28, contexts);
    }

    pub fn context(&self, t: u16) -> Option<&NegotiateContext> {
        self.contexts.iter().find(|c| c.context_type == t)
    }
}

/// `n` negotiate contexts from `off` (counted from the header start), each
/// after the first 8-aligned (MS-SMB2 2.2.3.1).
fn decode_contexts(msg: &[u8], mut off: usize, n: usize) -> WireResult<Vec<NegotiateContext>> {
    if n > MAX_ITEMS {
        return Err(WireError::Invalid);
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 {
            off = off.checked_add(7).ok_or(WireError::Invalid)? & !7;
        }
        let context_type = u16_at(msg, off)?;
        let len = u16_at(msg, off + 2)? as usize;
        let data = slice_at(msg, off + 8, len)?.to_vec();
        out.push(NegotiateContext { context_type, data });
        off += 8 + len;
    }
    Ok(out)
}

/// Appends `contexts` 8-aligned (the body, at `start` of `b`, starts
/// 8-aligned after the header) and patches their offset into the u32 at
/// `offset_field` of the body.
fn encode_contexts(b: &mut Vec<u8>, start: usize, offset_field: usize, contexts: &[NegotiateContext]) {
    if contexts.is_empty() {
        return;
    }
    pad_to(b, start, 8);
    let ctx_off = (64 + b.len() - start) as u32;
    patch_u32(b, start + offset_field, ctx_off);
    for (i, c) in contexts.iter().enumerate() {
        if i > 0 {
            pad_to(b, start, 8);
        }
        put_u16(b, c.context_type);
        put_u16(b, c.data.len() as u16);
        put_u32(b, 0);
        b.extend_from_slice(&c.data);
    }
}

/// The hash algorithms of a PREAUTH_INTEGRITY_CAPABILITIES context.
pub fn preauth_hash_algorithms(data: &[u8]) -> WireResult<Vec<u16>> {
    let n = u16_at(data, 0)? as usize;
    let salt = u16_at(data, 2)? as usize;
    if n == 0 || n > MAX_ITEMS {
        return Err(WireError::Invalid);
    }
    slice_at(data, 4 + 2 * n, salt)?;
    (0..n).map(|i| u16_at(data, 4 + 2 * i)).collect()
}

/// The algorithm ids of a SIGNING_CAPABILITIES context.
pub fn signing_algorithms(data: &[u8]) -> WireResult<Vec<u16>> {
    let n = u16_at(data, 0)? as usize;
    if n == 0 || n > MAX_ITEMS {
        return Err(WireError::Invalid);
    }
    (0..n).map(|i| u16_at(data, 2 + 2 * i)).collect()
}

/// The cipher ids of an ENCRYPTION_CAPABILITIES context (MS-SMB2
/// 2.2.3.1.2), in the client's order of preference.
pub fn encryption_ciphers(data: &[u8]) -> WireResult<Vec<u16>> {
    signing_algorithms(data)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegotiateResponse {
    pub security_mode: u16,
    pub dialect: u16,
    pub server_guid: [u8; 16],
    pub capabilities: u32,
    pub max_transact: u32,
    pub max_read: u32,
    pub max_write: u32,
    pub system_time: u64,
    pub security_buffer: Vec<u8>,
    pub contexts: Vec<NegotiateContext>,
}

impl NegotiateResponse {
    /// The body (after the 64-byte header); offsets count from the header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.reserve(128 + self.security_buffer.len());
        put_u16(out, 65);
        put_u16(out, self.security_mode);
        put_u16(out, self.dialect);
        put_u16(out, self.contexts.len() as u16);
        out.extend_from_slice(&self.server_guid);
        put_u32(out, self.capabilities);
        put_u32(out, self.max_transact);
        put_u32(out, self.max_read);
        put_u32(out, self.max_write);
        put_u64(out, self.system_time);
        put_u64(out, 0); // ServerStartTime
        put_u16(out, 128); // SecurityBufferOffset
        put_u16(out, self.security_buffer.len() as u16);
        put_u32(out, 0); // NegotiateContextOffset, patched below
        out.extend_from_slice(&self.security_buffer);
        if self.contexts.is_empty() {
            if self.security_buffer.is_empty() {
                out.push(0); // StructureSize 65 counts one byte of Buffer
            }
            return;
        }
        // Contexts start 8-aligned from the header start (64 is aligned).
        encode_contexts(out, start, 60, &self.contexts);
    }

    /// `msg` is the whole message from the SMB2 header on.
    pub fn decode(msg: &[u8]) -> WireResult<Self> {
        let body = msg.get(64..).ok_or(WireError::Short)?;
        structure_size(body, 65)?;
        let sec_off = u16_at(body, 56)? as usize;
        let sec_len = u16_at(body, 58)? as usize;
        let n = u16_at(body, 6)? as usize;
        let contexts = match n {
            0 => Vec::new(),
            _ => decode_contexts(msg, u32_at(body, 60)? as usize, n)?,
        };
        Ok(Self {
            security_mode: u16_at(body, 2)?,
            dialect: u16_at(body, 4)?,
            server_guid: array_at::<16>(body, 8)?,
            capabilities: u32_at(body, 24)?,
            max_transact: u32_at(body, 28)?,
            max_read: u32_at(body, 32)?,
            max_write: u32_at(body, 36)?,
            system_time: u64_at(body, 40)?,
            security_buffer: slice_at(msg, sec_off, sec_len)?.to_vec(),
            contexts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(&[0xFE, b'S', b'M', b'B']);
        h
    }

    #[test]
    fn golden_request_with_contexts() {
        let mut m = header();
        m.extend_from_slice(&[36, 0, 2, 0]); // StructureSize 36, DialectCount 2
        m.extend_from_slice(&[1, 0, 0, 0]); // SecurityMode signing enabled, Reserved
        m.extend_from_slice(&[0x44, 0, 0, 0]); // Capabilities (LARGE_MTU | ENCRYPTION)
        m.extend_from_slice(&[0xAB; 16]); // ClientGuid
        m.extend_from_slice(&[112, 0, 0, 0, 2, 0, 0, 0]); // NegotiateContextOffset 112, Count 2
        m.extend_from_slice(&[0x02, 0x03, 0x11, 0x03]); // Dialects 3.0.2, 3.1.1
        m.extend_from_slice(&[0; 8]); // pad 104 to 112
        // PREAUTH_INTEGRITY_CAPABILITIES: 1 algorithm (SHA-512), 2-byte salt.
        m.extend_from_slice(&[1, 0, 8, 0, 0, 0, 0, 0, 1, 0, 2, 0, 1, 0, 0xAA, 0xBB]);
        // SIGNING_CAPABILITIES: CMAC, GMAC (no padding needed: previous ended aligned).
        m.extend_from_slice(&[8, 0, 6, 0, 0, 0, 0, 0, 2, 0, 1, 0, 2, 0]);
        let r = NegotiateRequest::decode(&m).unwrap();
        assert_eq!(r.dialects, vec![DIALECT_302, DIALECT_311]);
        assert_eq!(r.client_guid, [0xAB; 16]);
        assert_eq!(r.capabilities, 0x44);
        let pre = r.context(PREAUTH_INTEGRITY_CAPABILITIES).unwrap();
        assert_eq!(preauth_hash_algorithms(&pre.data).unwrap(), vec![HASH_SHA512]);
        let sig = r.context(SIGNING_CAPABILITIES).unwrap();
        assert_eq!(signing_algorithms(&sig.data).unwrap(), vec![SIGN_AES_CMAC, SIGN_AES_GMAC]);
    }

    #[test]
    fn response_layout() {
        let r = NegotiateResponse {
            security_mode: SIGNING_ENABLED,
            dialect: DIALECT_311,
            security_buffer: vec![0x60, 0x01, 0x02],
            contexts: vec![NegotiateContext { context_type: SIGNING_CAPABILITIES, data: vec![1, 0, 2, 0] }],
            ..Default::default()
        };
        let b = to_vec(|b| r.encode(b));
        assert_eq!(&b[0..2], &[65, 0]);
        assert_eq!(&b[6..8], &[1, 0]); // one context
        assert_eq!(&b[56..60], &[128, 0, 3, 0]); // security buffer at 128, 3 bytes
        assert_eq!(&b[60..64], &[136, 0, 0, 0]); // contexts at 131 rounded up to 136
        assert_eq!(&b[72..], &[8, 0, 4, 0, 0, 0, 0, 0, 1, 0, 2, 0]);
    }

    quickcheck::quickcheck! {
        fn decode_never_panics(b: Vec<u8>, n: u8) -> bool {
            let mut m = header();
            m.extend_from_slice(&[36, 0, n % 4, 0]);
            m.extend_from_slice(&b);
            let _ = NegotiateRequest::decode(&m);
            m[64] = 65;
            let _ = NegotiateResponse::decode(&m);
            let _ = preauth_hash_algorithms(&b);
            let _ = signing_algorithms(&b);
            let _ = encryption_ciphers(&b);
            true
        }
    }
}

#[cfg(test)]
mod roundtrip;
