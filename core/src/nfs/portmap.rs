//! Portmapper version 2 (RFC 1833 3): NULL, GETPORT and DUMP. MOUNT and NFS
//! share the one port the adapter listens on (`config.nfs.port`).

use super::conn::Answer;
use super::rpc::AcceptStat;
use super::rpc::{PROG_MOUNT, PROG_NFS};
use super::xdr::{XdrReader, XdrResult, XdrWriter};
use crate::common::Core;

pub const VERSION: u32 = 2;

pub const PMAPPROC_NULL: u32 = 0;
pub const PMAPPROC_SET: u32 = 1;
pub const PMAPPROC_UNSET: u32 = 2;
pub const PMAPPROC_GETPORT: u32 = 3;
pub const PMAPPROC_DUMP: u32 = 4;

/// RFC 1833 3: IPPROTO_TCP and IPPROTO_UDP.
pub const IPPROTO_TCP: u32 = 6;
pub const IPPROTO_UDP: u32 = 17;

/// RFC 1833 3: struct mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    pub prog: u32,
    pub vers: u32,
    pub prot: u32,
    pub port: u32,
}

impl Mapping {
    pub fn decode(r: &mut XdrReader<'_>) -> XdrResult<Self> {
        Ok(Self { prog: r.u32()?, vers: r.u32()?, prot: r.u32()?, port: r.u32()? })
    }

    pub fn encode(&self, w: &mut XdrWriter) {
        w.u32(self.prog).u32(self.vers).u32(self.prot).u32(self.port);
    }
}

/// The services this server offers, all over TCP on one port.
fn mappings(core: &Core) -> [Mapping; 2] {
    let port = core.config.nfs.port as u32;
    [
        Mapping { prog: PROG_NFS, vers: 3, prot: IPPROTO_TCP, port },
        Mapping { prog: PROG_MOUNT, vers: 3, prot: IPPROTO_TCP, port },
    ]
}

/// GETPORT: the port of (prog, vers, TCP), 0 if not offered.
pub fn getport(core: &Core, want: &Mapping) -> u32 {
    mappings(core)
        .iter()
        .find(|m| m.prog == want.prog && m.vers == want.vers && m.prot == want.prot)
        .map_or(0, |m| m.port)
}

pub(crate) fn handle(
    core: &mut Core,
    proc_: u32,
    r: &mut XdrReader<'_>,
    w: &mut XdrWriter,
) -> Result<Answer, AcceptStat> {
    match proc_ {
        PMAPPROC_NULL => {}
        // This portmapper serves only its own programs: SET and UNSET answer FALSE.
        PMAPPROC_SET | PMAPPROC_UNSET => {
            Mapping::decode(r).map_err(|_| AcceptStat::GarbageArgs)?;
            w.bool(false);
        }
        PMAPPROC_GETPORT => {
            let m = Mapping::decode(r).map_err(|_| AcceptStat::GarbageArgs)?;
            w.u32(getport(core, &m));
        }
        PMAPPROC_DUMP => {
            for m in mappings(core) {
                w.bool(true);
                m.encode(w);
            }
            w.bool(false);
        }
        _ => return Err(AcceptStat::ProcUnavail),
    }
    Ok(Answer::Results)
}
