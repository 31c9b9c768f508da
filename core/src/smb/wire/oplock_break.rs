//! SMB2 OPLOCK_BREAK bodies (MS-SMB2 2.2.23 notification, 2.2.24
//! acknowledgment, 2.2.25 response), for both oplocks and leases. Bodies only:
//! the 64-byte SMB2 header is written by the header codec.
//!
//! A server-initiated break notification needs this header (MS-SMB2 3.3.4.6,
//! 3.3.4.7; header layout 2.2.1.2):
//!
//! - Command [`SMB2_OPLOCK_BREAK`] (0x12), Status 0, Flags SERVER_TO_REDIR
//!   (0x1) only: not ASYNC, not RELATED, not SIGNED (the notification is
//!   never signed), NextCommand 0, CreditCharge 0, CreditResponse 0;
//! - MessageId [`BREAK_NOTIFICATION_MESSAGE_ID`] (0xFFFFFFFFFFFFFFFF);
//! - TreeId 0 (sync header, Reserved 0);
//! - SessionId 0 for a lease break; for an oplock break Windows puts the
//!   open's SessionId there (MS-SMB2 3.3.4.6 SHOULD), 0 is also accepted.
//!
//! The acknowledgment the client sends back is an ordinary request (its own
//! MessageId, SessionId and TreeId); the response echoes its header rules.

use bytes::BufMut;

use super::codec::{WireError, guid, le_u8, le_u16, le_u32, le_u64, parse, skip, u16_at};
use super::create_context::STATUS_INVALID_PARAMETER;

/// SMB2 OPLOCK_BREAK command code (MS-SMB2 2.2.1.2).
pub const SMB2_OPLOCK_BREAK: u16 = 0x0012;
/// MessageId of every server-initiated break notification (MS-SMB2 3.3.4.6, 3.3.4.7).
pub const BREAK_NOTIFICATION_MESSAGE_ID: u64 = u64::MAX;
/// SMB2_FLAGS_SERVER_TO_REDIR (MS-SMB2 2.2.1.2): the only header flag of a notification.
pub const SMB2_FLAGS_SERVER_TO_REDIR: u32 = 0x0000_0001;

/// StructureSize of a lease break notification (MS-SMB2 2.2.23.2).
pub const LEASE_BREAK_NOTIFICATION_SIZE: u16 = 44;
/// StructureSize of a lease break acknowledgment / response (MS-SMB2 2.2.24.2, 2.2.25.2).
pub const LEASE_BREAK_ACK_SIZE: u16 = 36;
/// StructureSize of an oplock break notification / acknowledgment / response
/// (MS-SMB2 2.2.23.1, 2.2.24.1, 2.2.25.1).
pub const OPLOCK_BREAK_SIZE: u16 = 24;

/// SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED (MS-SMB2 2.2.23.2).
pub const SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED: u32 = 0x01;

/// OplockLevel values (MS-SMB2 2.2.13).
pub const SMB2_OPLOCK_LEVEL_NONE: u8 = 0x00;
/// Level II.
pub const SMB2_OPLOCK_LEVEL_II: u8 = 0x01;
/// Exclusive.
pub const SMB2_OPLOCK_LEVEL_EXCLUSIVE: u8 = 0x08;
/// Batch.
pub const SMB2_OPLOCK_LEVEL_BATCH: u8 = 0x09;
/// Lease (CREATE only).
pub const SMB2_OPLOCK_LEVEL_LEASE: u8 = 0xFF;

/// A malformed OPLOCK_BREAK body; answered with STATUS_INVALID_PARAMETER.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BreakCodecError {
    #[error("OPLOCK_BREAK body of {got} bytes is shorter than its StructureSize {need}")]
    Truncated { need: u16, got: usize },
    #[error("OPLOCK_BREAK StructureSize {0} is neither 36 (lease) nor 24 (oplock)")]
    BadStructureSize(u16),
    /// A field read failed past the checks above (cannot happen once they
    /// pass; kept so no read ever defaults a value).
    #[error("OPLOCK_BREAK body: {0}")]
    Wire(#[from] WireError),
}

impl BreakCodecError {
    /// The NTSTATUS of the error response (MS-SMB2 3.3.5.22).
    pub const fn nt_status(self) -> u32 {
        STATUS_INVALID_PARAMETER
    }
}

/// Lease Break Notification body (MS-SMB2 2.2.23.2), 44 bytes. BreakReason,
/// AccessMaskHint and ShareMaskHint are written as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseBreakNotification {
    /// NewEpoch (0 for v1 leases).
    pub new_epoch: u16,
    /// Flags: [`SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED`].
    pub flags: u32,
    /// LeaseKey.
    pub key: [u8; 16],
    /// CurrentLeaseState.
    pub current_state: u32,
    /// NewLeaseState.
    pub new_state: u32,
}

/// Lease Break Acknowledgment (MS-SMB2 2.2.24.2) and Lease Break Response
/// (MS-SMB2 2.2.25.2): same 36-byte layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseBreakAck {
    /// Flags (reserved, 0).
    pub flags: u32,
    /// LeaseKey.
    pub key: [u8; 16],
    /// LeaseState.
    pub state: u32,
    /// LeaseDuration (reserved, 0).
    pub duration: u64,
}

/// Oplock Break Notification / Acknowledgment / Response (MS-SMB2 2.2.23.1,
/// 2.2.24.1, 2.2.25.1): same 24-byte layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OplockBreak {
    /// OplockLevel.
    pub level: u8,
    /// FileId: Persistent (8) then Volatile (8), as on the wire.
    pub file_id: [u8; 16],
}

/// An OPLOCK_BREAK request from a client: told apart by StructureSize
/// (MS-SMB2 3.3.5.22).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakAck {
    /// StructureSize 36.
    Lease(LeaseBreakAck),
    /// StructureSize 24.
    Oplock(OplockBreak),
}

/// Checks StructureSize and that the body holds at least that many bytes;
/// the reads that follow are then all in bounds.
fn check(body: &[u8], size: u16) -> Result<(), BreakCodecError> {
    if body.len() < usize::from(size) {
        return Err(BreakCodecError::Truncated { need: size, got: body.len() });
    }
    match u16_at(body, 0)? {
        s if s == size => Ok(()),
        s => Err(BreakCodecError::BadStructureSize(s)),
    }
}

impl LeaseBreakNotification {
    /// Appends the 44-byte body to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u16_le(LEASE_BREAK_NOTIFICATION_SIZE);
        out.put_u16_le(self.new_epoch);
        out.put_u32_le(self.flags);
        out.put_slice(&self.key);
        out.put_u32_le(self.current_state);
        out.put_u32_le(self.new_state);
        out.put_u32_le(0); // BreakReason
        out.put_u32_le(0); // AccessMaskHint
        out.put_u32_le(0); // ShareMaskHint
    }

    /// Decodes a notification body (client side, tests).
    pub fn decode(body: &[u8]) -> Result<Self, BreakCodecError> {
        check(body, LEASE_BREAK_NOTIFICATION_SIZE)?;
        let (_, new_epoch, flags, key, current_state, new_state) =
            parse(body, (skip(2), le_u16, le_u32, guid, le_u32, le_u32))?;
        Ok(Self { new_epoch, flags, key, current_state, new_state })
    }
}

impl LeaseBreakAck {
    /// Appends the 36-byte body to `out` (the server's Lease Break Response,
    /// or a client's acknowledgment).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u16_le(LEASE_BREAK_ACK_SIZE);
        out.put_u16_le(0); // Reserved
        out.put_u32_le(self.flags);
        out.put_slice(&self.key);
        out.put_u32_le(self.state);
        out.put_u64_le(self.duration);
    }

    /// Decodes a 36-byte acknowledgment or response body.
    pub fn decode(body: &[u8]) -> Result<Self, BreakCodecError> {
        check(body, LEASE_BREAK_ACK_SIZE)?;
        let (_, flags, key, state, duration) = parse(body, (skip(4), le_u32, guid, le_u32, le_u64))?;
        Ok(Self { flags, key, state, duration })
    }
}

impl OplockBreak {
    /// Appends the 24-byte body to `out` (notification, acknowledgment or response).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u16_le(OPLOCK_BREAK_SIZE);
        out.put_u8(self.level);
        out.put_u8(0); // Reserved
        out.put_u32_le(0); // Reserved2
        out.put_slice(&self.file_id);
    }

    /// Decodes a 24-byte notification, acknowledgment or response body.
    pub fn decode(body: &[u8]) -> Result<Self, BreakCodecError> {
        check(body, OPLOCK_BREAK_SIZE)?;
        let (_, level, _, file_id) = parse(body, (skip(2), le_u8, skip(5), guid))?;
        Ok(Self { level, file_id })
    }
}

/// Decodes a client's OPLOCK_BREAK request body: StructureSize 36 is a lease
/// break acknowledgment, 24 an oplock break acknowledgment, anything else
/// STATUS_INVALID_PARAMETER (MS-SMB2 3.3.5.22).
pub fn decode_break_ack(body: &[u8]) -> Result<BreakAck, BreakCodecError> {
    if body.len() < 2 {
        return Err(BreakCodecError::Truncated { need: 2, got: body.len() });
    }
    match u16_at(body, 0)? {
        LEASE_BREAK_ACK_SIZE => LeaseBreakAck::decode(body).map(BreakAck::Lease),
        OPLOCK_BREAK_SIZE => OplockBreak::decode(body).map(BreakAck::Oplock),
        s => Err(BreakCodecError::BadStructureSize(s)),
    }
}

/// Appends a Lease Break Notification body (44 bytes) to `out`.
pub fn encode_lease_break_notification(n: &LeaseBreakNotification, out: &mut Vec<u8>) {
    n.encode(out);
}

/// Appends a Lease Break Response body (36 bytes) to `out` (MS-SMB2 2.2.25.2).
pub fn encode_lease_break_response(r: &LeaseBreakAck, out: &mut Vec<u8>) {
    r.encode(out);
}

/// Appends an Oplock Break Notification or Response body (24 bytes) to `out`.
pub fn encode_oplock_break(o: &OplockBreak, out: &mut Vec<u8>) {
    o.encode(out);
}

#[cfg(test)]
mod tests;
