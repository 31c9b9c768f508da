//! SMB2_CREATE_CONTEXT chains (MS-SMB2 2.2.13.2 request values, 2.2.14.2
//! response values).
//!
//! A chain is a list of elements, each
//!
//! ```text
//! 0  Next        u32  offset of the next element from this one, 8-aligned, 0 on the last
//! 4  NameOffset  u16  from the start of this element (16 in practice)
//! 6  NameLength  u16  >= 4
//! 8  Reserved    u16
//! 10 DataOffset  u16  from the start of this element, 8-aligned, after the name
//! 12 DataLength  u32
//! 16 Buffer           name, padding to 8, data
//! ```
//!
//! The request decoder is strict about structure (every malformation is
//! STATUS_INVALID_PARAMETER) and zero-copy: names and opaque data are slices
//! of the input [`Bytes`]. Unknown names, including the 16-byte GUID names
//! (AppInstanceId, POSIX, SVHDX), are kept raw for the caller to ignore.

use bytes::{BufMut, Bytes};

use super::codec::{WireError, guid, le_u16, le_u32, le_u64, parse, patch_u16, patch_u32, skip, u64_at};

/// STATUS_INVALID_PARAMETER (MS-ERREF 2.3.1): the answer to every malformed chain.
pub const STATUS_INVALID_PARAMETER: u32 = 0xC000_000D;

/// Upper bound on the number of elements in one chain; more is rejected.
pub const MAX_CREATE_CONTEXTS: usize = 64;

/// Size of the fixed element header before the Buffer.
const ELEMENT_HEADER_LEN: usize = 16;

/// Create context names (MS-SMB2 2.2.13.2), network byte order as on the wire.
pub mod tag {
    /// SMB2_CREATE_EA_BUFFER.
    pub const EXT_A: [u8; 4] = *b"ExtA";
    /// SMB2_CREATE_SD_BUFFER.
    pub const SEC_D: [u8; 4] = *b"SecD";
    /// SMB2_CREATE_DURABLE_HANDLE_REQUEST / _RESPONSE.
    pub const DHNQ: [u8; 4] = *b"DHnQ";
    /// SMB2_CREATE_DURABLE_HANDLE_RECONNECT.
    pub const DHNC: [u8; 4] = *b"DHnC";
    /// SMB2_CREATE_ALLOCATION_SIZE.
    pub const AL_SI: [u8; 4] = *b"AlSi";
    /// SMB2_CREATE_QUERY_MAXIMAL_ACCESS_REQUEST / _RESPONSE.
    pub const MX_AC: [u8; 4] = *b"MxAc";
    /// SMB2_CREATE_TIMEWARP_TOKEN.
    pub const TWRP: [u8; 4] = *b"TWrp";
    /// SMB2_CREATE_QUERY_ON_DISK_ID.
    pub const QFID: [u8; 4] = *b"QFid";
    /// SMB2_CREATE_REQUEST_LEASE (v1 and v2) and SMB2_CREATE_RESPONSE_LEASE (v1 and v2).
    pub const RQ_LS: [u8; 4] = *b"RqLs";
    /// SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 / _RESPONSE_V2.
    pub const DH2Q: [u8; 4] = *b"DH2Q";
    /// SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2.
    pub const DH2C: [u8; 4] = *b"DH2C";
}

/// LeaseState bits (MS-SMB2 2.2.13.2.8).
pub const SMB2_LEASE_READ_CACHING: u32 = 0x01;
/// LeaseState H bit.
pub const SMB2_LEASE_HANDLE_CACHING: u32 = 0x02;
/// LeaseState W bit.
pub const SMB2_LEASE_WRITE_CACHING: u32 = 0x04;
/// Lease Flags, server to client (MS-SMB2 2.2.14.2.10).
pub const SMB2_LEASE_FLAG_BREAK_IN_PROGRESS: u32 = 0x02;
/// Lease Flags, v2 only (MS-SMB2 2.2.13.2.10).
pub const SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET: u32 = 0x04;
/// Durable v2 Flags (MS-SMB2 2.2.13.2.11).
pub const SMB2_DHANDLE_FLAG_PERSISTENT: u32 = 0x02;

/// Data length of a lease v1 context (MS-SMB2 2.2.13.2.8, 2.2.14.2.10).
pub const LEASE_V1_LEN: usize = 32;
/// Data length of a lease v2 context (MS-SMB2 2.2.13.2.10, 2.2.14.2.11).
pub const LEASE_V2_LEN: usize = 52;

/// SMB2_CREATE_REQUEST_LEASE(_V2) / SMB2_CREATE_RESPONSE_LEASE(_V2) data.
/// v1 and v2 differ only in DataLength (32 / 52).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseContext {
    /// LeaseKey.
    pub key: [u8; 16],
    /// LeaseState (R 0x01, H 0x02, W 0x04).
    pub state: u32,
    /// LeaseFlags (BREAK_IN_PROGRESS 0x02, PARENT_LEASE_KEY_SET 0x04).
    pub flags: u32,
    /// LeaseDuration (reserved, 0).
    pub duration: u64,
    /// The v2 tail; `None` for a 32-byte v1 context.
    pub v2: Option<LeaseV2>,
}

/// The v2-only fields of a lease context (MS-SMB2 2.2.13.2.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseV2 {
    /// ParentLeaseKey.
    pub parent_key: [u8; 16],
    /// Epoch.
    pub epoch: u16,
}

/// One decoded request create context (MS-SMB2 2.2.13.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateContext {
    /// "RqLs", 32 or 52 bytes.
    Lease(LeaseContext),
    /// "MxAc", 0 or 8 bytes (Timestamp FILETIME).
    MaximalAccess { timestamp: Option<u64> },
    /// "QFid", 0 bytes.
    QueryOnDiskId,
    /// "DHnQ", 16 reserved bytes.
    DurableRequest,
    /// "DHnC", 16 bytes: SMB2_FILEID (persistent 8 + volatile 8).
    DurableReconnect { file_id: [u8; 16] },
    /// "DH2Q", 32 bytes: Timeout, Flags, Reserved 8, CreateGuid.
    DurableRequestV2 { timeout: u32, flags: u32, create_guid: [u8; 16] },
    /// "DH2C", 36 bytes: FileId, CreateGuid, Flags.
    DurableReconnectV2 { file_id: [u8; 16], create_guid: [u8; 16], flags: u32 },
    /// "ExtA": FILE_FULL_EA_INFORMATION list (MS-FSCC 2.4.16), raw.
    ExtendedAttributes(Bytes),
    /// "SecD": self-relative SECURITY_DESCRIPTOR (MS-DTYP 2.4.6), raw.
    SecurityDescriptor(Bytes),
    /// "AlSi", 8 bytes.
    AllocationSize(u64),
    /// "TWrp", 8 bytes (FILETIME).
    TimewarpToken(u64),
    /// Any other name, kept raw; the server ignores it (MS-SMB2 3.3.5.9).
    Unknown { name: Bytes, data: Bytes },
}

impl CreateContext {
    /// The context's name as on the wire ("RqLs", "MxAc", ... or the raw name).
    pub fn name(&self) -> &[u8] {
        match self {
            CreateContext::Lease(_) => &tag::RQ_LS,
            CreateContext::MaximalAccess { .. } => &tag::MX_AC,
            CreateContext::QueryOnDiskId => &tag::QFID,
            CreateContext::DurableRequest => &tag::DHNQ,
            CreateContext::DurableReconnect { .. } => &tag::DHNC,
            CreateContext::DurableRequestV2 { .. } => &tag::DH2Q,
            CreateContext::DurableReconnectV2 { .. } => &tag::DH2C,
            CreateContext::ExtendedAttributes(_) => &tag::EXT_A,
            CreateContext::SecurityDescriptor(_) => &tag::SEC_D,
            CreateContext::AllocationSize(_) => &tag::AL_SI,
            CreateContext::TimewarpToken(_) => &tag::TWRP,
            CreateContext::Unknown { name, .. } => name,
        }
    }
}

/// One response create context (MS-SMB2 2.2.14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseContext {
    /// "RqLs", 32 or 52 bytes by `v2.is_some()`.
    Lease(LeaseContext),
    /// "MxAc", 8 bytes: QueryStatus, MaximalAccess.
    MaximalAccess { query_status: u32, maximal_access: u32 },
    /// "QFid", 32 bytes: DiskFileId, VolumeId, 16 reserved zeros.
    QueryOnDiskId { disk_file_id: u64, volume_id: u64 },
    /// "DHnQ", 8 reserved zero bytes.
    DurableV1,
    /// "DH2Q", 8 bytes: Timeout, Flags.
    DurableV2 { timeout: u32, flags: u32 },
}

/// A malformed create context chain. Every variant is answered with
/// STATUS_INVALID_PARAMETER (see [`CreateContextError::nt_status`]).
/// `offset` is the element's offset within the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CreateContextError {
    #[error("create context at {offset}: element shorter than its 16-byte header")]
    ElementTooShort { offset: usize },
    #[error("create context at {offset}: Next {next} is not a multiple of 8")]
    NextMisaligned { offset: usize, next: u32 },
    #[error("create context at {offset}: Next {next} points at or past the end of the chain")]
    NextPastEnd { offset: usize, next: u32 },
    #[error("create context at {offset}: NameLength {len} is shorter than 4")]
    NameTooShort { offset: usize, len: u16 },
    #[error("create context at {offset}: NameOffset {name_offset} lies inside the element header")]
    NameInHeader { offset: usize, name_offset: u16 },
    #[error("create context at {offset}: name runs past the element")]
    NameOutOfBounds { offset: usize },
    #[error("create context at {offset}: DataOffset {data_offset} is not a multiple of 8")]
    DataOffsetMisaligned { offset: usize, data_offset: u16 },
    #[error("create context at {offset}: DataOffset {data_offset} overlaps the name")]
    DataOverlapsName { offset: usize, data_offset: u16 },
    #[error("create context at {offset}: data runs past the element")]
    DataOutOfBounds { offset: usize },
    #[error("create context at {offset}: name given twice in one chain")]
    DuplicateTag { offset: usize },
    #[error("create context {tag:?}: DataLength {len} is invalid for this name")]
    BadDataLength { tag: [u8; 4], len: u32 },
    #[error("create context at {offset}: not a response context this codec knows")]
    UnexpectedResponseContext { offset: usize },
    #[error("more than {MAX_CREATE_CONTEXTS} create contexts in one chain")]
    TooManyContexts,
}

impl CreateContextError {
    /// The NTSTATUS the CREATE fails with (MS-SMB2 3.3.5.9).
    pub const fn nt_status(self) -> u32 {
        STATUS_INVALID_PARAMETER
    }
}

/// One structurally valid element: its name and data, sliced from the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawContext {
    /// Offset of the element within the chain.
    pub offset: usize,
    /// The name bytes (NameLength of them).
    pub name: Bytes,
    /// The data bytes (DataLength of them; empty when DataLength is 0).
    pub data: Bytes,
}

/// Reads a known context's fixed data with the codec's parsers; the length
/// was checked by [`expect_len`], so a short read is that same error.
fn fields<'a, O>(
    d: &'a [u8],
    p: impl nom::Parser<&'a [u8], Output = O, Error = WireError>,
    bad: CreateContextError,
) -> Result<O, CreateContextError> {
    parse(d, p).map_err(|_| bad)
}

/// Walks a chain and checks its structure (MS-SMB2 2.2.13.2): element bounds,
/// Next, NameOffset/NameLength, DataOffset/DataLength, duplicated names and the
/// element count. Does not look at what the names mean.
pub fn split_create_contexts(chain: &Bytes) -> Result<Vec<RawContext>, CreateContextError> {
    let mut out: Vec<RawContext> = Vec::new();
    let mut offset = 0usize;
    while offset < chain.len() {
        if out.len() == MAX_CREATE_CONTEXTS {
            return Err(CreateContextError::TooManyContexts);
        }
        let rest = chain.get(offset..).unwrap_or_default();
        let (next, name_offset, name_len, _, data_offset, data_len) =
            parse(rest, (le_u32, le_u16, le_u16, skip(2), le_u16, le_u32))
                .map_err(|_| CreateContextError::ElementTooShort { offset })?;

        // The element is [offset, offset + Next), or the rest of the chain for the last one.
        let elem_len = if next == 0 {
            rest.len()
        } else {
            if next % 8 != 0 {
                return Err(CreateContextError::NextMisaligned { offset, next });
            }
            let n = next as usize;
            if n < ELEMENT_HEADER_LEN {
                return Err(CreateContextError::ElementTooShort { offset });
            }
            if n >= rest.len() {
                return Err(CreateContextError::NextPastEnd { offset, next });
            }
            n
        };

        if name_len < 4 {
            return Err(CreateContextError::NameTooShort { offset, len: name_len });
        }
        if usize::from(name_offset) < ELEMENT_HEADER_LEN {
            return Err(CreateContextError::NameInHeader { offset, name_offset });
        }
        let name_end = usize::from(name_offset) + usize::from(name_len);
        if name_end > elem_len {
            return Err(CreateContextError::NameOutOfBounds { offset });
        }
        // DataOffset is ignored when DataLength is 0 (MS-SMB2 2.2.13.2).
        let data_range = if data_len == 0 {
            0..0
        } else {
            if data_offset % 8 != 0 {
                return Err(CreateContextError::DataOffsetMisaligned { offset, data_offset });
            }
            let start = usize::from(data_offset);
            if start < name_end {
                return Err(CreateContextError::DataOverlapsName { offset, data_offset });
            }
            let end = start
                .checked_add(data_len as usize)
                .filter(|&end| end <= elem_len)
                .ok_or(CreateContextError::DataOutOfBounds { offset })?;
            offset + start..offset + end
        };

        let name = chain.slice(offset + usize::from(name_offset)..offset + name_end);
        if out.iter().any(|c| c.name == name) {
            return Err(CreateContextError::DuplicateTag { offset });
        }
        let data = chain.slice(data_range);
        out.push(RawContext { offset, name, data });
        offset += elem_len;
    }
    Ok(out)
}

/// Checks a known tag's DataLength against the allowed sizes.
fn expect_len(tag: [u8; 4], data: &[u8], allowed: &[usize]) -> Result<(), CreateContextError> {
    if allowed.contains(&data.len()) {
        Ok(())
    } else {
        Err(CreateContextError::BadDataLength { tag, len: u32::try_from(data.len()).unwrap_or(u32::MAX) })
    }
}

/// Decodes the 32- or 52-byte lease data (MS-SMB2 2.2.13.2.8 / 2.2.13.2.10;
/// the response layouts 2.2.14.2.10 / 2.2.14.2.11 are identical).
fn decode_lease(data: &[u8]) -> Result<LeaseContext, CreateContextError> {
    expect_len(tag::RQ_LS, data, &[LEASE_V1_LEN, LEASE_V2_LEN])?;
    let bad = CreateContextError::BadDataLength { tag: tag::RQ_LS, len: data.len() as u32 };
    let (key, state, flags, duration) = fields(data, (guid, le_u32, le_u32, le_u64), bad)?;
    let v2 = if data.len() == LEASE_V2_LEN {
        let (_, parent_key, epoch) = fields(data, (skip(32), guid, le_u16), bad)?;
        Some(LeaseV2 { parent_key, epoch })
    } else {
        None
    };
    Ok(LeaseContext { key, state, flags, duration, v2 })
}

fn decode_request_one(raw: RawContext) -> Result<CreateContext, CreateContextError> {
    let Ok(tag4) = <[u8; 4]>::try_from(&raw.name[..]) else {
        return Ok(CreateContext::Unknown { name: raw.name, data: raw.data });
    };
    let d = &raw.data[..];
    let bad = CreateContextError::BadDataLength { tag: tag4, len: u32::try_from(d.len()).unwrap_or(u32::MAX) };
    Ok(match tag4 {
        tag::RQ_LS => CreateContext::Lease(decode_lease(d)?),
        tag::MX_AC => {
            expect_len(tag4, d, &[0, 8])?;
            CreateContext::MaximalAccess { timestamp: u64_at(d, 0).ok() }
        }
        tag::QFID => {
            expect_len(tag4, d, &[0])?;
            CreateContext::QueryOnDiskId
        }
        tag::DHNQ => {
            expect_len(tag4, d, &[16])?;
            CreateContext::DurableRequest
        }
        tag::DHNC => {
            expect_len(tag4, d, &[16])?;
            CreateContext::DurableReconnect { file_id: fields(d, guid, bad)? }
        }
        tag::DH2Q => {
            expect_len(tag4, d, &[32])?;
            let (timeout, flags, _, create_guid) = fields(d, (le_u32, le_u32, skip(8), guid), bad)?;
            CreateContext::DurableRequestV2 { timeout, flags, create_guid }
        }
        tag::DH2C => {
            expect_len(tag4, d, &[36])?;
            let (file_id, create_guid, flags) = fields(d, (guid, guid, le_u32), bad)?;
            CreateContext::DurableReconnectV2 { file_id, create_guid, flags }
        }
        tag::AL_SI => {
            expect_len(tag4, d, &[8])?;
            CreateContext::AllocationSize(fields(d, le_u64, bad)?)
        }
        tag::TWRP => {
            expect_len(tag4, d, &[8])?;
            CreateContext::TimewarpToken(fields(d, le_u64, bad)?)
        }
        tag::EXT_A => CreateContext::ExtendedAttributes(raw.data),
        tag::SEC_D => CreateContext::SecurityDescriptor(raw.data),
        _ => CreateContext::Unknown { name: raw.name, data: raw.data },
    })
}

/// Decodes a CREATE request's context chain (MS-SMB2 2.2.13.2, 3.3.5.9).
///
/// `chain` is exactly the CreateContextsLength bytes at CreateContextsOffset;
/// an empty chain has no contexts. Zero-copy: opaque data are slices of `chain`.
/// Contexts come back in wire order.
pub fn decode_create_contexts(chain: &Bytes) -> Result<Vec<CreateContext>, CreateContextError> {
    split_create_contexts(chain)?.into_iter().map(decode_request_one).collect()
}

/// Decodes a CREATE response's context chain (MS-SMB2 2.2.14.2): for scripted
/// clients and tests. A name outside [`ResponseContext`] is
/// [`CreateContextError::UnexpectedResponseContext`]; a known name with the
/// wrong size is [`CreateContextError::BadDataLength`].
pub fn decode_response_contexts(chain: &Bytes) -> Result<Vec<ResponseContext>, CreateContextError> {
    split_create_contexts(chain)?
        .into_iter()
        .map(|raw| {
            let d = &raw.data[..];
            let len = u32::try_from(d.len()).unwrap_or(u32::MAX);
            let Ok(tag4) = <[u8; 4]>::try_from(&raw.name[..]) else {
                return Err(CreateContextError::UnexpectedResponseContext { offset: raw.offset });
            };
            let bad = CreateContextError::BadDataLength { tag: tag4, len };
            match tag4 {
                tag::RQ_LS => decode_lease(d).map(ResponseContext::Lease),
                tag::MX_AC if d.len() == 8 => Ok(ResponseContext::MaximalAccess {
                    query_status: fields(d, le_u32, bad)?,
                    maximal_access: fields(d, (skip(4), le_u32), bad)?.1,
                }),
                tag::QFID if d.len() == 32 => Ok(ResponseContext::QueryOnDiskId {
                    disk_file_id: fields(d, le_u64, bad)?,
                    volume_id: fields(d, (skip(8), le_u64), bad)?.1,
                }),
                tag::DHNQ if d.len() == 8 => Ok(ResponseContext::DurableV1),
                tag::DH2Q if d.len() == 8 => Ok(ResponseContext::DurableV2 {
                    timeout: fields(d, le_u32, bad)?,
                    flags: fields(d, (skip(4), le_u32), bad)?.1,
                }),
                tag::MX_AC | tag::QFID | tag::DHNQ | tag::DH2Q => Err(bad),
                _ => Err(CreateContextError::UnexpectedResponseContext { offset: raw.offset }),
            }
        })
        .collect()
}

/// Writes lease data (32 or 52 bytes) into `out`.
fn put_lease(l: &LeaseContext, out: &mut Vec<u8>) {
    out.put_slice(&l.key);
    out.put_u32_le(l.state);
    out.put_u32_le(l.flags);
    out.put_u64_le(l.duration);
    if let Some(v2) = &l.v2 {
        out.put_slice(&v2.parent_key);
        out.put_u16_le(v2.epoch);
        out.put_u16_le(0); // Reserved
    }
}

/// Appends elements to a chain in place: each element starts 8-aligned
/// relative to the chain, the previous element's Next is patched when the
/// next one begins, the last keeps Next 0 and gets no trailing padding.
struct ChainWriter<'a> {
    out: &'a mut Vec<u8>,
    chain_start: usize,
    prev: Option<usize>,
}

impl<'a> ChainWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        let chain_start = out.len();
        Self { out, chain_start, prev: None }
    }

    /// One element: header, name at 16, then (if `data` writes anything)
    /// zero padding and the data at the next 8-aligned offset. With no data,
    /// DataOffset and DataLength are 0.
    fn element(&mut self, name: &[u8], data: impl FnOnce(&mut Vec<u8>)) {
        let out = &mut *self.out;
        if let Some(prev) = self.prev {
            let pad = (out.len() - self.chain_start).next_multiple_of(8) - (out.len() - self.chain_start);
            out.put_bytes(0, pad);
            let next = u32::try_from(out.len() - prev).unwrap_or(u32::MAX);
            patch_u32(out, prev, next);
        }
        let start = out.len();
        self.prev = Some(start);
        out.put_u32_le(0); // Next, patched by the following element
        out.put_u16_le(ELEMENT_HEADER_LEN as u16); // NameOffset
        out.put_u16_le(u16::try_from(name.len()).unwrap_or(u16::MAX)); // NameLength
        out.put_u16_le(0); // Reserved
        out.put_u16_le(0); // DataOffset, patched below
        out.put_u32_le(0); // DataLength, patched below
        out.put_slice(name);
        let name_end = out.len();
        let data_offset = (name_end - start).next_multiple_of(8);
        out.put_bytes(0, data_offset - (name_end - start));
        let data_start = out.len();
        data(out);
        let data_len = out.len() - data_start;
        if data_len == 0 {
            out.truncate(name_end);
        } else {
            patch_u16(out, start + 10, u16::try_from(data_offset).unwrap_or(u16::MAX));
            patch_u32(out, start + 12, u32::try_from(data_len).unwrap_or(u32::MAX));
        }
    }

    /// Bytes written since the writer was created.
    fn finish(self) -> usize {
        self.out.len() - self.chain_start
    }
}

/// Encodes a CREATE response's context chain (MS-SMB2 2.2.14.2) at the end of
/// `out` and returns the number of bytes written (the CreateContextsLength).
/// NameOffset is 16, DataOffset 24 (4-byte names), each element but the last
/// padded to 8. The caller places the chain 8-aligned (offset 152 in a CREATE
/// response with no padding before it).
pub fn encode_create_contexts(ctxs: &[ResponseContext], out: &mut Vec<u8>) -> usize {
    let mut w = ChainWriter::new(out);
    for c in ctxs {
        match *c {
            ResponseContext::Lease(l) => w.element(&tag::RQ_LS, |d| put_lease(&l, d)),
            ResponseContext::MaximalAccess { query_status, maximal_access } => w.element(&tag::MX_AC, |d| {
                d.put_u32_le(query_status);
                d.put_u32_le(maximal_access);
            }),
            ResponseContext::QueryOnDiskId { disk_file_id, volume_id } => w.element(&tag::QFID, |d| {
                d.put_u64_le(disk_file_id);
                d.put_u64_le(volume_id);
                d.put_bytes(0, 16); // Reserved
            }),
            ResponseContext::DurableV1 => w.element(&tag::DHNQ, |d| d.put_bytes(0, 8)), // Reserved
            ResponseContext::DurableV2 { timeout, flags } => w.element(&tag::DH2Q, |d| {
                d.put_u32_le(timeout);
                d.put_u32_le(flags);
            }),
        }
    }
    w.finish()
}

/// Encodes a CREATE request's context chain (MS-SMB2 2.2.13.2): for scripted
/// clients and tests. Same layout rules as [`encode_create_contexts`]. An
/// `Unknown` name must be at least 4 bytes and must not repeat a known tag for
/// the result to decode.
pub fn encode_request_contexts(ctxs: &[CreateContext], out: &mut Vec<u8>) -> usize {
    let mut w = ChainWriter::new(out);
    for c in ctxs {
        match c {
            CreateContext::Lease(l) => w.element(&tag::RQ_LS, |d| put_lease(l, d)),
            CreateContext::MaximalAccess { timestamp } => w.element(&tag::MX_AC, |d| {
                if let Some(t) = timestamp {
                    d.put_u64_le(*t);
                }
            }),
            CreateContext::QueryOnDiskId => w.element(&tag::QFID, |_| {}),
            CreateContext::DurableRequest => w.element(&tag::DHNQ, |d| d.put_bytes(0, 16)), // Reserved
            CreateContext::DurableReconnect { file_id } => w.element(&tag::DHNC, |d| d.put_slice(file_id)),
            CreateContext::DurableRequestV2 { timeout, flags, create_guid } => w.element(&tag::DH2Q, |d| {
                d.put_u32_le(*timeout);
                d.put_u32_le(*flags);
                d.put_bytes(0, 8); // Reserved
                d.put_slice(create_guid);
            }),
            CreateContext::DurableReconnectV2 { file_id, create_guid, flags } => w.element(&tag::DH2C, |d| {
                d.put_slice(file_id);
                d.put_slice(create_guid);
                d.put_u32_le(*flags);
            }),
            CreateContext::ExtendedAttributes(b) => w.element(&tag::EXT_A, |d| d.put_slice(b)),
            CreateContext::SecurityDescriptor(b) => w.element(&tag::SEC_D, |d| d.put_slice(b)),
            CreateContext::AllocationSize(n) => w.element(&tag::AL_SI, |d| d.put_u64_le(*n)),
            CreateContext::TimewarpToken(t) => w.element(&tag::TWRP, |d| d.put_u64_le(*t)),
            CreateContext::Unknown { name, data } => w.element(name, |d| d.put_slice(data)),
        }
    }
    w.finish()
}

#[cfg(test)]
mod tests;
