//! Connection-oriented DCE/RPC PDUs ([C706] 12.6; MS-RPCE 2.2.2): the
//! common header, BIND / ALTER_CONTEXT, REQUEST, and the server's
//! BIND_ACK, BIND_NAK, RESPONSE and FAULT. Little-endian data only.

use thiserror::Error;

use crate::smb::wire::codec::{WireError, array, guid, le_u8, le_u16, le_u32, parse, u16_at, u32_at};

pub const RPC_VERS: u8 = 5;
pub const RPC_VERS_MINOR: u8 = 0;
pub const HEADER_LEN: usize = 16;

pub mod ptype {
    pub const REQUEST: u8 = 0;
    pub const RESPONSE: u8 = 2;
    pub const FAULT: u8 = 3;
    pub const BIND: u8 = 11;
    pub const BIND_ACK: u8 = 12;
    pub const BIND_NAK: u8 = 13;
    pub const ALTER_CONTEXT: u8 = 14;
    pub const ALTER_CONTEXT_RESP: u8 = 15;
    pub const AUTH3: u8 = 16;
}

pub const PFC_FIRST_FRAG: u8 = 0x01;
pub const PFC_LAST_FRAG: u8 = 0x02;
pub const PFC_DID_NOT_EXECUTE: u8 = 0x20;
pub const PFC_OBJECT_UUID: u8 = 0x80;

/// Little-endian integers, ASCII characters, IEEE floats (C706 14.1).
pub const DREP_LE: [u8; 4] = [0x10, 0, 0, 0];

/// C706 appendix E / MS-RPCE 2.2.2.13 fault codes.
pub const NCA_S_OP_RNG_ERROR: u32 = 0x1C01_0002;
pub const NCA_S_UNK_IF: u32 = 0x1C01_0003;
pub const NCA_S_PROTO_ERROR: u32 = 0x1C01_000B;
pub const NCA_S_FAULT_NDR: u32 = 0x0000_06F7;

/// p_cont_def_result_t and p_provider_reason_t (C706 12.6.3.1).
pub const RESULT_ACCEPTANCE: u16 = 0;
pub const RESULT_PROVIDER_REJECTION: u16 = 2;
pub const REASON_NOT_SPECIFIED: u16 = 0;
pub const REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED: u16 = 1;
pub const REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED: u16 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PduError {
    #[error("PDU shorter than its header or frag_length")]
    Short,
    #[error("unsupported RPC version {0}.{1}")]
    Version(u8, u8),
    #[error("big-endian or non-ASCII data representation")]
    Drep,
    #[error("bad frag_length or auth_length")]
    Length,
}

/// The SMB codec's readers only fail past the end of what they are given,
/// which for a PDU is [`PduError::Short`]: the pipe waits for more bytes.
impl From<WireError> for PduError {
    fn from(_: WireError) -> Self {
        PduError::Short
    }
}

/// An interface or transfer syntax id: UUID (in its wire order) + version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxId {
    pub uuid: [u8; 16],
    /// Major version in the low 16 bits, minor in the high 16 bits.
    pub version: u32,
}

impl SyntaxId {
    pub const ZERO: SyntaxId = SyntaxId { uuid: [0; 16], version: 0 };

    fn decode(b: &[u8]) -> Result<Self, PduError> {
        let (uuid, version) = parse(b, (guid, le_u32))?;
        Ok(Self { uuid, version })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.uuid);
        out.extend_from_slice(&self.version.to_le_bytes());
    }
}

/// Builds the wire form of a UUID given as its canonical text parts
/// (the first three fields little-endian, C706 appendix A).
pub const fn uuid(a: u32, b: u16, c: u16, d: [u8; 8]) -> [u8; 16] {
    let a = a.to_le_bytes();
    let b = b.to_le_bytes();
    let c = c.to_le_bytes();
    [a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]
}

/// NDR 2.0: 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.
pub const NDR_SYNTAX: SyntaxId =
    SyntaxId { uuid: uuid(0x8a88_5d04, 0x1ceb, 0x11c9, [0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60]), version: 2 };

/// The common header of every connection-oriented PDU (C706 12.6.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PduHeader {
    pub ptype: u8,
    pub flags: u8,
    pub frag_length: u16,
    pub auth_length: u16,
    pub call_id: u32,
}

impl PduHeader {
    /// Decodes the header; `b` may be a prefix of the PDU.
    pub fn decode(b: &[u8]) -> Result<Self, PduError> {
        if b.len() < HEADER_LEN {
            return Err(PduError::Short);
        }
        let (vers, minor, ptype, flags, drep, frag_length, auth_length, call_id) =
            parse(b, (le_u8, le_u8, le_u8, le_u8, array::<4>, le_u16, le_u16, le_u32))?;
        if vers != RPC_VERS || minor > 1 {
            return Err(PduError::Version(vers, minor));
        }
        if drep[0] & 0xF0 != 0x10 {
            return Err(PduError::Drep);
        }
        let h = Self { ptype, flags, frag_length, auth_length, call_id };
        if usize::from(h.frag_length) < HEADER_LEN || usize::from(h.auth_length) + HEADER_LEN > h.frag_length.into() {
            return Err(PduError::Length);
        }
        Ok(h)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[RPC_VERS, RPC_VERS_MINOR, self.ptype, self.flags]);
        out.extend_from_slice(&DREP_LE);
        out.extend_from_slice(&self.frag_length.to_le_bytes());
        out.extend_from_slice(&self.auth_length.to_le_bytes());
        out.extend_from_slice(&self.call_id.to_le_bytes());
    }
}

/// Appends a PDU header whose frag_length [`end_pdu`] fills in once the
/// body follows it; returns where the PDU starts.
fn begin_pdu(ptype: u8, flags: u8, call_id: u32, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    PduHeader { ptype, flags, frag_length: 0, auth_length: 0, call_id }.encode(out);
    start
}

/// Patches the frag_length of the PDU at `start` (C706 12.6.3.1, offset 8).
fn end_pdu(out: &mut [u8], start: usize) {
    let frag_length = (out.len() - start).min(usize::from(u16::MAX)) as u16;
    if let Some(s) = out.get_mut(start + 8..start + 10) {
        s.copy_from_slice(&frag_length.to_le_bytes());
    }
}

/// One presentation context of a BIND (p_cont_elem_t).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextElem {
    pub context_id: u16,
    pub abstract_syntax: SyntaxId,
    pub transfer_syntaxes: Vec<SyntaxId>,
}

/// BIND and ALTER_CONTEXT (C706 12.6.4.3, 12.6.4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub max_xmit_frag: u16,
    pub max_recv_frag: u16,
    pub assoc_group_id: u32,
    pub contexts: Vec<ContextElem>,
}

impl Bind {
    /// `pdu` is the whole PDU (header included), `frag_length` bytes.
    pub fn decode(pdu: &[u8]) -> Result<Self, PduError> {
        let mut b = Self {
            max_xmit_frag: u16_at(pdu, 16)?,
            max_recv_frag: u16_at(pdu, 18)?,
            assoc_group_id: u32_at(pdu, 20)?,
            contexts: Vec::new(),
        };
        let n = pdu.get(24).copied().ok_or(PduError::Short)?;
        let mut off = 28;
        for _ in 0..n {
            let context_id = u16_at(pdu, off)?;
            let n_syn = pdu.get(off + 2).copied().ok_or(PduError::Short)?;
            let abstract_syntax = SyntaxId::decode(pdu.get(off + 4..).ok_or(PduError::Short)?)?;
            off += 24;
            let mut transfer_syntaxes = Vec::with_capacity(usize::from(n_syn));
            for _ in 0..n_syn {
                transfer_syntaxes.push(SyntaxId::decode(pdu.get(off..).ok_or(PduError::Short)?)?);
                off += 20;
            }
            b.contexts.push(ContextElem { context_id, abstract_syntax, transfer_syntaxes });
        }
        Ok(b)
    }
}

/// One entry of a BIND_ACK result list (p_result_t).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextResult {
    pub result: u16,
    pub reason: u16,
    pub transfer_syntax: SyntaxId,
}

/// BIND_ACK or ALTER_CONTEXT_RESP (C706 12.6.4.4, 12.6.4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAck {
    pub max_xmit_frag: u16,
    pub max_recv_frag: u16,
    pub assoc_group_id: u32,
    /// The port_any_t secondary address, without its NUL ("" for none).
    pub sec_addr: String,
    pub results: Vec<ContextResult>,
}

impl BindAck {
    pub fn encode(&self, ptype: u8, call_id: u32, out: &mut Vec<u8>) {
        let start = begin_pdu(ptype, PFC_FIRST_FRAG | PFC_LAST_FRAG, call_id, out);
        out.extend_from_slice(&self.max_xmit_frag.to_le_bytes());
        out.extend_from_slice(&self.max_recv_frag.to_le_bytes());
        out.extend_from_slice(&self.assoc_group_id.to_le_bytes());
        let addr_len = if self.sec_addr.is_empty() { 0 } else { self.sec_addr.len() + 1 };
        out.extend_from_slice(&(addr_len as u16).to_le_bytes());
        out.extend_from_slice(self.sec_addr.as_bytes());
        if addr_len > 0 {
            out.push(0);
        }
        // The result list is 4-aligned from the start of the PDU.
        while (out.len() - start) % 4 != 0 {
            out.push(0);
        }
        out.extend_from_slice(&[self.results.len() as u8, 0, 0, 0]);
        for r in &self.results {
            out.extend_from_slice(&r.result.to_le_bytes());
            out.extend_from_slice(&r.reason.to_le_bytes());
            r.transfer_syntax.encode(out);
        }
        end_pdu(out, start);
    }
}

/// BIND_NAK (C706 12.6.4.5): the reason and the one version supported.
pub fn encode_bind_nak(call_id: u32, reason: u16, out: &mut Vec<u8>) {
    let start = begin_pdu(ptype::BIND_NAK, PFC_FIRST_FRAG | PFC_LAST_FRAG, call_id, out);
    out.extend_from_slice(&reason.to_le_bytes());
    out.extend_from_slice(&[1, RPC_VERS, RPC_VERS_MINOR]);
    out.push(0); // pad to 4
    end_pdu(out, start);
}

/// REQUEST (C706 12.6.4.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub alloc_hint: u32,
    pub context_id: u16,
    pub opnum: u16,
    pub stub: &'a [u8],
}

impl<'a> Request<'a> {
    pub fn decode(h: &PduHeader, pdu: &'a [u8]) -> Result<Self, PduError> {
        let start = if h.flags & PFC_OBJECT_UUID != 0 { 40 } else { 24 };
        // The auth verifier (sec_trailer + credentials) ends the PDU.
        let auth = match h.auth_length {
            0 => 0,
            n => usize::from(n) + 8,
        };
        let end = usize::from(h.frag_length).checked_sub(auth).ok_or(PduError::Length)?;
        Ok(Self {
            alloc_hint: u32_at(pdu, 16)?,
            context_id: u16_at(pdu, 20)?,
            opnum: u16_at(pdu, 22)?,
            stub: pdu.get(start..end).ok_or(PduError::Short)?,
        })
    }
}

/// The RESPONSE PDUs carrying `stub`, split so that none exceeds
/// `max_frag` bytes (C706 12.6.4.10); stub fragments are 8-byte multiples.
// One `Vec` per PDU rather than appending: each fragment is queued as its own pipe read.
pub fn encode_response(call_id: u32, context_id: u16, stub: &[u8], max_frag: u16) -> Vec<Vec<u8>> {
    let room = (usize::from(max_frag).saturating_sub(HEADER_LEN + 8) / 8 * 8).max(8);
    let mut out = Vec::new();
    let mut rest = stub;
    let mut first = true;
    loop {
        let (chunk, tail) = rest.split_at(room.min(rest.len()));
        let mut flags = if first { PFC_FIRST_FRAG } else { 0 };
        if tail.is_empty() {
            flags |= PFC_LAST_FRAG;
        }
        let mut pdu = Vec::with_capacity(HEADER_LEN + 8 + chunk.len());
        begin_pdu(ptype::RESPONSE, flags, call_id, &mut pdu);
        pdu.extend_from_slice(&(rest.len() as u32).to_le_bytes()); // alloc_hint
        pdu.extend_from_slice(&context_id.to_le_bytes());
        pdu.extend_from_slice(&[0, 0]); // cancel_count, reserved
        pdu.extend_from_slice(chunk);
        end_pdu(&mut pdu, 0);
        out.push(pdu);
        first = false;
        rest = tail;
        if rest.is_empty() {
            return out;
        }
    }
}

/// FAULT (C706 12.6.4.7).
pub fn encode_fault(call_id: u32, context_id: u16, status: u32, did_not_execute: bool, out: &mut Vec<u8>) {
    let mut flags = PFC_FIRST_FRAG | PFC_LAST_FRAG;
    if did_not_execute {
        flags |= PFC_DID_NOT_EXECUTE;
    }
    let start = begin_pdu(ptype::FAULT, flags, call_id, out);
    out.extend_from_slice(&0u32.to_le_bytes()); // alloc_hint
    out.extend_from_slice(&context_id.to_le_bytes());
    out.extend_from_slice(&[0, 0]); // cancel_count, reserved
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // reserved
    end_pdu(out, start);
}

#[cfg(test)]
pub(crate) mod tests;
