//! OPLOCK_BREAK acknowledgments (MS-SMB2 3.3.5.22): StructureSize 36 acks a
//! lease break (on any connection of the lease's ClientGuid), 24 an oplock
//! break of one open; anything else is STATUS_INVALID_PARAMETER.

use crate::lease::{AckError, ClientGuid, LeaseKey, LeaseState};
use crate::smb::ctx::{Ctx, HandlerResult, ok};
use crate::smb::status;
use crate::smb::wire::codec::FileId;
use crate::smb::wire::oplock_break::{BreakAck, LeaseBreakAck, OplockBreak, decode_break_ack};

fn ack_status(e: AckError) -> u32 {
    match e {
        AckError::NotFound => status::OBJECT_NAME_NOT_FOUND,
        AckError::NotBreaking => status::UNSUCCESSFUL,
        AckError::NotSubset => status::REQUEST_NOT_ACCEPTED,
        AckError::InvalidOplockProtocol => status::INVALID_OPLOCK_PROTOCOL,
    }
}

pub fn oplock_break(cx: &mut Ctx<'_>) -> HandlerResult {
    cx.session()?;
    let body = cx.msg.get(64..).unwrap_or(&[]);
    let ack = decode_break_ack(body).map_err(|e| e.nt_status())?;
    let mut out = Vec::new();
    match ack {
        // MS-SMB2 3.3.5.22.2
        BreakAck::Lease(a) => {
            let guid = ClientGuid(cx.conn.client_guid);
            let core = &mut *cx.core;
            let state = core
                .leases
                .ack_lease(guid, LeaseKey(a.key), LeaseState::from_bits(a.state), cx.now)
                .map_err(ack_status)?;
            LeaseBreakAck { flags: 0, key: a.key, state: state.bits(), duration: 0 }.encode(&mut out);
        }
        // MS-SMB2 3.3.5.22.1
        BreakAck::Oplock(o) => {
            let fid = FileId::decode(&o.file_id, 0).map_err(|_| status::INVALID_PARAMETER)?;
            let open = cx.open(fid)?.lease_open;
            let core = &mut *cx.core;
            let level = core.leases.ack_oplock(open, o.level, cx.now).map_err(ack_status)?;
            OplockBreak { level, file_id: o.file_id }.encode(&mut out);
        }
    }
    ok(out)
}
