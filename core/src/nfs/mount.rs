//! MOUNT version 3 (RFC 1813 Appendix I): NULL, MNT, DUMP, UMNT, UMNTALL and
//! EXPORT. MNT hands out the root handle of an export (or of a directory
//! below it) with the flavors AUTH_SYS and AUTH_NONE.

use super::conn::{Answer, NfsConnection};
use super::nfs3::export::{allowed, find_export, port_ok, resolve_path, root_of};
use super::nfs3::fh::NfsFh3;
use super::rpc::{AUTH_NONE, AUTH_SYS, AcceptStat};
use super::shared::NfsShared;
use super::xdr::{XdrReader, XdrWriter};
use crate::common::Core;
use crate::vfs::{FileType, VfsError};

pub const VERSION: u32 = 3;

pub const MOUNTPROC3_NULL: u32 = 0;
pub const MOUNTPROC3_MNT: u32 = 1;
pub const MOUNTPROC3_DUMP: u32 = 2;
pub const MOUNTPROC3_UMNT: u32 = 3;
pub const MOUNTPROC3_UMNTALL: u32 = 4;
pub const MOUNTPROC3_EXPORT: u32 = 5;

/// RFC 1813 5.1: MNTPATHLEN.
pub const MNTPATHLEN: u32 = 1024;

/// RFC 1813 5.1.5 mountstat3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum MountStat3 {
    Ok = 0,
    Perm = 1,
    NoEnt = 2,
    Io = 5,
    Acces = 13,
    NotDir = 20,
    Inval = 22,
    NameTooLong = 63,
    NotSupp = 10004,
    ServerFault = 10006,
}

/// RFC 1813 5.1: a dirpath argument (MNT, UMNT); GARBAGE_ARGS when malformed.
pub fn dirpath<'a>(r: &mut XdrReader<'a>) -> Result<&'a [u8], AcceptStat> {
    r.string(MNTPATHLEN).map_err(|_| AcceptStat::GarbageArgs)
}

/// MNT: the handle of `path`, or why not.
pub fn mnt(core: &Core, conn: &NfsConnection, path: &[u8]) -> Result<NfsFh3, MountStat3> {
    let path = std::str::from_utf8(path).map_err(|_| MountStat3::NoEnt)?;
    let (index, sub) = find_export(&core.config.nfs, &core.retired_exports, path).ok_or(MountStat3::NoEnt)?;
    let exp = core.export(index).ok_or(MountStat3::NoEnt)?;
    // rpc.mountd answers MNT3ERR_ACCES to a port a secure export refuses.
    if !allowed(exp, conn.peer.ip()) || !port_ok(exp, conn.peer) {
        return Err(MountStat3::Acces);
    }
    // A client may mount below the export, never above it.
    if sub.split('/').any(|c| c == "..") {
        return Err(MountStat3::Acces);
    }
    let vfs: &dyn crate::vfs::Vfs = &core.vfs;
    let full = format!("{}/{}", exp.path, sub);
    let attr = resolve_path(vfs, &full).map_err(|e| match e {
        VfsError::NotFound => MountStat3::NoEnt,
        VfsError::NotDir => MountStat3::NotDir,
        VfsError::Access => MountStat3::Acces,
        VfsError::NameTooLong => MountStat3::NameTooLong,
        _ => MountStat3::Io,
    })?;
    if attr.kind != FileType::Directory {
        return Err(MountStat3::NotDir);
    }
    // The walk cannot leave the export (no "..", symlinks are not followed),
    // and the handle must pass the NFS side's confinement check: make sure.
    let root = root_of(vfs, exp).map_err(|_| MountStat3::NoEnt)?;
    if !vfs.is_within(attr.id, root).unwrap_or(false) {
        return Err(MountStat3::Acces);
    }
    let export = u8::try_from(index).map_err(|_| MountStat3::ServerFault)?;
    Ok(NfsFh3 { export, epoch: core.export_epoch(export as usize), id: attr.id, generation: attr.generation })
}

pub(crate) fn handle(
    core: &mut Core,
    shared: &mut NfsShared,
    conn: &mut NfsConnection,
    proc_: u32,
    r: &mut XdrReader<'_>,
    w: &mut XdrWriter,
) -> Result<Answer, AcceptStat> {
    let host = conn.peer.ip().to_string();
    match proc_ {
        MOUNTPROC3_NULL => {}
        MOUNTPROC3_MNT => {
            let path = dirpath(r)?;
            match mnt(core, conn, path) {
                Ok(fh) => {
                    shared.add_mount(host, String::from_utf8_lossy(path).into_owned());
                    w.u32(MountStat3::Ok as u32);
                    fh.encode(w);
                    w.u32(2).u32(AUTH_SYS).u32(AUTH_NONE);
                }
                Err(stat) => {
                    tracing::debug!(conn = conn.id.0, ?stat, "MNT refused");
                    w.u32(stat as u32);
                }
            }
        }
        MOUNTPROC3_DUMP => {
            for (h, d) in &shared.mounts {
                w.bool(true).string(h).string(d);
            }
            w.bool(false);
        }
        MOUNTPROC3_UMNT => {
            let path = String::from_utf8_lossy(dirpath(r)?).into_owned();
            shared.mounts.remove(&(host, path));
        }
        MOUNTPROC3_UMNTALL => shared.mounts.retain(|(h, _)| *h != host),
        MOUNTPROC3_EXPORT => {
            let exports = core.config.nfs.exports.iter().enumerate();
            for (_, e) in exports.filter(|(i, _)| !core.retired_exports.contains(i)) {
                w.bool(true).string(&e.name);
                if e.allowed.is_empty() {
                    w.bool(true).string("*");
                }
                for a in &e.allowed {
                    w.bool(true).string(&format!("{}/{}", a.addr, a.prefix));
                }
                w.bool(false);
            }
            w.bool(false);
        }
        _ => return Err(AcceptStat::ProcUnavail),
    }
    Ok(Answer::Results)
}
