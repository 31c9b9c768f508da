//! NFSv3 (RFC 1813) and MOUNT v3 (RFC 1813 appendix I) procedures the load
//! generator uses, over one [`RpcConnection`].

use std::net::SocketAddr;
use std::time::Duration;

use super::rpc::RpcConnection;
use super::xdr::{XdrReader, XdrWriter};
use super::{Error, Result};

pub const NFS_PROGRAM: u32 = 100003;
pub const MOUNT_PROGRAM: u32 = 100005;
pub const NFS3_OK: u32 = 0;
pub const NFS3ERR_NOENT: u32 = 2;
pub const NFS3ERR_EXIST: u32 = 17;
pub const NFS3ERR_JUKEBOX: u32 = 10008;
/// RFC 1813 2.5: FHSIZE3.
pub const NFS3_FHSIZE: usize = 64;
const MAX_NAME: usize = 255;

/// Procedure numbers (RFC 1813 3).
pub mod proc3 {
    pub const NULL: u32 = 0;
    pub const GETATTR: u32 = 1;
    pub const SETATTR: u32 = 2;
    pub const LOOKUP: u32 = 3;
    pub const READ: u32 = 6;
    pub const WRITE: u32 = 7;
    pub const CREATE: u32 = 8;
    pub const REMOVE: u32 = 12;
    pub const COMMIT: u32 = 21;
    /// MOUNT v3 MNT (RFC 1813 I.5.2).
    pub const MNT: u32 = 1;
}

/// stable_how (RFC 1813 3.3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StableHow {
    Unstable = 0,
    DataSync = 1,
    FileSync = 2,
}

/// createmode3 (RFC 1813 3.3.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateHow {
    /// Open an existing file as is.
    Unchecked,
    /// Fail with NFS3ERR_EXIST if the name exists.
    Guarded,
    /// Exclusive create with this verifier.
    Exclusive([u8; 8]),
}

/// nfs_fh3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fh(pub Vec<u8>);

/// The parts of fattr3 (RFC 1813 2.6) the load generator looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fattr3 {
    pub ftype: u32,
    pub mode: u32,
    pub size: u64,
    pub fileid: u64,
}

/// READ3resok.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadReply {
    pub data: Vec<u8>,
    pub eof: bool,
}

/// WRITE3resok.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteReply {
    pub count: u32,
    pub committed: StableHow,
    pub verf: [u8; 8],
}

/// An NFSv3 client on one TCP connection (MOUNT and NFS on the same port).
#[derive(Debug)]
pub struct NfsClient {
    rpc: RpcConnection,
}

impl NfsClient {
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self> {
        Ok(Self { rpc: RpcConnection::connect(addr, timeout)? })
    }

    pub fn rpc(&mut self) -> &mut RpcConnection {
        &mut self.rpc
    }

    fn nfs(&mut self, proc_: u32, args: &XdrWriter) -> Result<XdrReader<'_>> {
        Ok(XdrReader::new(self.rpc.call(NFS_PROGRAM, 3, proc_, &args.0)?))
    }

    pub fn null(&mut self) -> Result<()> {
        self.nfs(proc3::NULL, &XdrWriter::new()).map(|_| ())
    }

    /// MOUNT MNT: the export's root file handle.
    pub fn mount(&mut self, path: &str) -> Result<Fh> {
        let mut args = XdrWriter::new();
        args.opaque(path.as_bytes());
        let mut r = XdrReader::new(self.rpc.call(MOUNT_PROGRAM, 3, proc3::MNT, &args.0)?);
        match r.u32()? {
            0 => Ok(Fh(r.opaque(NFS3_FHSIZE)?.to_vec())),
            status => Err(Error::Nfs { proc_: "MNT", status }),
        }
    }

    pub fn getattr(&mut self, fh: &Fh) -> Result<Fattr3> {
        let mut args = XdrWriter::new();
        args.opaque(&fh.0);
        let mut r = self.nfs(proc3::GETATTR, &args)?;
        status(&mut r, "GETATTR")?;
        fattr3(&mut r)
    }

    pub fn lookup(&mut self, dir: &Fh, name: &str) -> Result<Fh> {
        let mut args = XdrWriter::new();
        args.opaque(&dir.0).opaque(name.as_bytes());
        let mut r = self.nfs(proc3::LOOKUP, &args)?;
        status(&mut r, "LOOKUP")?;
        Ok(Fh(r.opaque(NFS3_FHSIZE)?.to_vec()))
    }

    /// CREATE a regular file with mode 0644; looks the name up when the
    /// server returns no handle (post_op_fh3 is optional).
    pub fn create(&mut self, dir: &Fh, name: &str, how: CreateHow) -> Result<Fh> {
        if name.len() > MAX_NAME {
            return Err(Error::Unexpected("name too long".into()));
        }
        let mut args = XdrWriter::new();
        args.opaque(&dir.0).opaque(name.as_bytes());
        match how {
            CreateHow::Unchecked | CreateHow::Guarded => {
                args.u32(if how == CreateHow::Unchecked { 0 } else { 1 });
                sattr3(&mut args, Some(0o644), None);
            }
            CreateHow::Exclusive(verf) => {
                args.u32(2).fixed(&verf);
            }
        }
        let mut r = self.nfs(proc3::CREATE, &args)?;
        status(&mut r, "CREATE")?;
        let fh = if r.bool()? { Some(Fh(r.opaque(NFS3_FHSIZE)?.to_vec())) } else { None };
        match fh {
            Some(fh) => Ok(fh),
            None => self.lookup(dir, name),
        }
    }

    /// SETATTR of the size only, unguarded.
    pub fn setattr_size(&mut self, fh: &Fh, size: u64) -> Result<()> {
        let mut args = XdrWriter::new();
        args.opaque(&fh.0);
        sattr3(&mut args, None, Some(size));
        args.bool(false); // sattrguard3
        let mut r = self.nfs(proc3::SETATTR, &args)?;
        status(&mut r, "SETATTR")
    }

    pub fn read(&mut self, fh: &Fh, offset: u64, count: u32) -> Result<ReadReply> {
        let mut args = XdrWriter::new();
        args.opaque(&fh.0).u64(offset).u32(count);
        let mut r = self.nfs(proc3::READ, &args)?;
        let st = r.u32()?;
        post_op_attr(&mut r)?;
        if st != NFS3_OK {
            return Err(Error::Nfs { proc_: "READ", status: st });
        }
        let n = r.u32()?;
        let eof = r.bool()?;
        let data = r.opaque(count as usize)?;
        if data.len() != n as usize {
            return Err(Error::Malformed("READ count differs from data length"));
        }
        Ok(ReadReply { data: data.to_vec(), eof })
    }

    pub fn write(&mut self, fh: &Fh, offset: u64, data: &[u8], stable: StableHow) -> Result<WriteReply> {
        let mut args = XdrWriter::new();
        args.opaque(&fh.0).u64(offset).u32(data.len() as u32).u32(stable as u32).opaque(data);
        let mut r = self.nfs(proc3::WRITE, &args)?;
        status(&mut r, "WRITE")?;
        wcc_data(&mut r)?;
        let count = r.u32()?;
        let committed = match r.u32()? {
            0 => StableHow::Unstable,
            1 => StableHow::DataSync,
            2 => StableHow::FileSync,
            _ => return Err(Error::Malformed("bad stable_how")),
        };
        let verf = verf(&mut r)?;
        Ok(WriteReply { count, committed, verf })
    }

    /// COMMIT the whole file; returns the write verifier.
    pub fn commit(&mut self, fh: &Fh) -> Result<[u8; 8]> {
        let mut args = XdrWriter::new();
        args.opaque(&fh.0).u64(0).u32(0);
        let mut r = self.nfs(proc3::COMMIT, &args)?;
        status(&mut r, "COMMIT")?;
        wcc_data(&mut r)?;
        verf(&mut r)
    }

    pub fn remove(&mut self, dir: &Fh, name: &str) -> Result<()> {
        let mut args = XdrWriter::new();
        args.opaque(&dir.0).opaque(name.as_bytes());
        let mut r = self.nfs(proc3::REMOVE, &args)?;
        status(&mut r, "REMOVE")
    }
}

/// Reads nfsstat3; a failure becomes [`Error::Nfs`].
fn status(r: &mut XdrReader, proc_: &'static str) -> Result<()> {
    match r.u32()? {
        NFS3_OK => Ok(()),
        status => Err(Error::Nfs { proc_, status }),
    }
}

/// Skips wcc_data (RFC 1813 2.6).
fn wcc_data(r: &mut XdrReader) -> Result<()> {
    if r.bool()? {
        r.skip(24)?; // wcc_attr: size, mtime, ctime
    }
    post_op_attr(r).map(|_| ())
}

fn post_op_attr(r: &mut XdrReader) -> Result<Option<Fattr3>> {
    if r.bool()? { fattr3(r).map(Some) } else { Ok(None) }
}

fn fattr3(r: &mut XdrReader) -> Result<Fattr3> {
    let ftype = r.u32()?;
    let mode = r.u32()?;
    r.skip(12)?; // nlink, uid, gid
    let size = r.u64()?;
    r.skip(8 + 8 + 8)?; // used, rdev, fsid
    let fileid = r.u64()?;
    r.skip(24)?; // atime, mtime, ctime
    Ok(Fattr3 { ftype, mode, size, fileid })
}

fn verf(r: &mut XdrReader) -> Result<[u8; 8]> {
    r.fixed(8)?.try_into().map_err(|_| Error::Malformed("writeverf3"))
}

/// sattr3 (RFC 1813 2.6) setting only the given mode and size; times unchanged.
fn sattr3(w: &mut XdrWriter, mode: Option<u32>, size: Option<u64>) {
    match mode {
        Some(m) => w.bool(true).u32(m),
        None => w.bool(false),
    };
    w.bool(false).bool(false); // uid, gid
    match size {
        Some(s) => w.bool(true).u64(s),
        None => w.bool(false),
    };
    w.u32(0).u32(0); // atime, mtime: DONT_CHANGE
}

#[cfg(test)]
mod tests;
