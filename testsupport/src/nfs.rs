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
    pub uid: u32,
    pub gid: u32,
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

/// Argument encoders (RFC 1813 3.3), for callers that send a call and
/// collect its reply separately (see [`NfsClient::send`]).
pub mod args {
    use super::{CreateHow, Fh, StableHow, sattr3};
    use crate::xdr::XdrWriter;

    pub fn mnt(path: &str) -> Vec<u8> {
        XdrWriter::new().opaque(path.as_bytes()).0.clone()
    }
    pub fn fh(fh: &Fh) -> Vec<u8> {
        XdrWriter::new().opaque(&fh.0).0.clone()
    }
    /// diropargs3: LOOKUP, REMOVE.
    pub fn dirop(dir: &Fh, name: &str) -> Vec<u8> {
        XdrWriter::new().opaque(&dir.0).opaque(name.as_bytes()).0.clone()
    }
    /// CREATE a regular file with mode 0644.
    pub fn create(dir: &Fh, name: &str, how: CreateHow) -> Vec<u8> {
        let mut w = XdrWriter::new();
        w.opaque(&dir.0).opaque(name.as_bytes());
        match how {
            CreateHow::Unchecked => sattr3(w.u32(0), Some(0o644), None),
            CreateHow::Guarded => sattr3(w.u32(1), Some(0o644), None),
            CreateHow::Exclusive(verf) => {
                w.u32(2).fixed(&verf);
            }
        }
        w.0
    }
    /// SETATTR of the size only, unguarded.
    pub fn setattr_size(fh: &Fh, size: u64) -> Vec<u8> {
        let mut w = XdrWriter::new();
        w.opaque(&fh.0);
        sattr3(&mut w, None, Some(size));
        w.bool(false); // sattrguard3
        w.0
    }
    pub fn read(fh: &Fh, offset: u64, count: u32) -> Vec<u8> {
        XdrWriter::new().opaque(&fh.0).u64(offset).u32(count).0.clone()
    }
    pub fn write(fh: &Fh, offset: u64, data: &[u8], stable: StableHow) -> Vec<u8> {
        let mut w = XdrWriter::new();
        w.opaque(&fh.0).u64(offset).u32(data.len() as u32).u32(stable as u32).opaque(data);
        w.0
    }
    /// COMMIT the whole file.
    pub fn commit(fh: &Fh) -> Vec<u8> {
        XdrWriter::new().opaque(&fh.0).u64(0).u32(0).0.clone()
    }
}

/// Result decoders (RFC 1813 3.3); a status other than NFS3_OK is [`Error::Nfs`].
pub mod res {
    use super::*;

    pub fn mnt(b: &[u8]) -> Result<Fh> {
        let mut r = XdrReader::new(b);
        match r.u32()? {
            0 => Ok(Fh(r.opaque(NFS3_FHSIZE)?.to_vec())),
            status => Err(Error::Nfs { proc_: "MNT", status }),
        }
    }
    pub fn getattr(b: &[u8]) -> Result<Fattr3> {
        let mut r = XdrReader::new(b);
        status(&mut r, "GETATTR")?;
        fattr3(&mut r)
    }
    pub fn lookup(b: &[u8]) -> Result<Fh> {
        let mut r = XdrReader::new(b);
        status(&mut r, "LOOKUP")?;
        Ok(Fh(r.opaque(NFS3_FHSIZE)?.to_vec()))
    }
    /// The new file's handle, when the server returned one.
    pub fn create(b: &[u8]) -> Result<Option<Fh>> {
        let mut r = XdrReader::new(b);
        status(&mut r, "CREATE")?;
        Ok(if r.bool()? { Some(Fh(r.opaque(NFS3_FHSIZE)?.to_vec())) } else { None })
    }
    /// SETATTR, REMOVE: status and wcc_data only.
    pub fn wcc(b: &[u8], proc_: &'static str) -> Result<()> {
        let mut r = XdrReader::new(b);
        status(&mut r, proc_)?;
        wcc_data(&mut r)
    }
    pub fn read(b: &[u8], count: u32) -> Result<ReadReply> {
        let mut r = XdrReader::new(b);
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
    pub fn write(b: &[u8]) -> Result<WriteReply> {
        let mut r = XdrReader::new(b);
        status(&mut r, "WRITE")?;
        wcc_data(&mut r)?;
        let count = r.u32()?;
        let committed = match r.u32()? {
            0 => StableHow::Unstable,
            1 => StableHow::DataSync,
            2 => StableHow::FileSync,
            _ => return Err(Error::Malformed("bad stable_how")),
        };
        Ok(WriteReply { count, committed, verf: verf(&mut r)? })
    }
    /// The write verifier.
    pub fn commit(b: &[u8]) -> Result<[u8; 8]> {
        let mut r = XdrReader::new(b);
        status(&mut r, "COMMIT")?;
        wcc_data(&mut r)?;
        verf(&mut r)
    }
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

    /// Sends an NFSv3 call without waiting (args from [`args`]); returns its xid.
    pub fn send(&mut self, proc_: u32, args: &[u8]) -> Result<u32> {
        self.rpc.send(NFS_PROGRAM, 3, proc_, args)
    }

    /// Waits for the next reply; returns its xid and results (decode with [`res`]).
    pub fn recv(&mut self) -> Result<(u32, Vec<u8>)> {
        self.rpc.recv().map(|(xid, b)| (xid, b.to_vec()))
    }

    fn nfs(&mut self, proc_: u32, args: &[u8]) -> Result<&[u8]> {
        self.rpc.call(NFS_PROGRAM, 3, proc_, args)
    }

    pub fn null(&mut self) -> Result<()> {
        self.nfs(proc3::NULL, &[]).map(|_| ())
    }

    /// MOUNT MNT: the export's root file handle.
    pub fn mount(&mut self, path: &str) -> Result<Fh> {
        res::mnt(self.rpc.call(MOUNT_PROGRAM, 3, proc3::MNT, &args::mnt(path))?)
    }

    pub fn getattr(&mut self, fh: &Fh) -> Result<Fattr3> {
        res::getattr(self.nfs(proc3::GETATTR, &args::fh(fh))?)
    }

    pub fn lookup(&mut self, dir: &Fh, name: &str) -> Result<Fh> {
        res::lookup(self.nfs(proc3::LOOKUP, &args::dirop(dir, name))?)
    }

    /// CREATE a regular file with mode 0644; looks the name up when the
    /// server returns no handle (post_op_fh3 is optional).
    pub fn create(&mut self, dir: &Fh, name: &str, how: CreateHow) -> Result<Fh> {
        if name.len() > MAX_NAME {
            return Err(Error::Unexpected("name too long".into()));
        }
        match res::create(self.nfs(proc3::CREATE, &args::create(dir, name, how))?)? {
            Some(fh) => Ok(fh),
            None => self.lookup(dir, name),
        }
    }

    pub fn setattr_size(&mut self, fh: &Fh, size: u64) -> Result<()> {
        res::wcc(self.nfs(proc3::SETATTR, &args::setattr_size(fh, size))?, "SETATTR")
    }

    pub fn read(&mut self, fh: &Fh, offset: u64, count: u32) -> Result<ReadReply> {
        res::read(self.nfs(proc3::READ, &args::read(fh, offset, count))?, count)
    }

    pub fn write(&mut self, fh: &Fh, offset: u64, data: &[u8], stable: StableHow) -> Result<WriteReply> {
        res::write(self.nfs(proc3::WRITE, &args::write(fh, offset, data, stable))?)
    }

    /// COMMIT the whole file; returns the write verifier.
    pub fn commit(&mut self, fh: &Fh) -> Result<[u8; 8]> {
        res::commit(self.nfs(proc3::COMMIT, &args::commit(fh))?)
    }

    pub fn remove(&mut self, dir: &Fh, name: &str) -> Result<()> {
        res::wcc(self.nfs(proc3::REMOVE, &args::dirop(dir, name))?, "REMOVE")
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
    r.skip(4)?; // nlink
    let uid = r.u32()?;
    let gid = r.u32()?;
    let size = r.u64()?;
    r.skip(8 + 8 + 8)?; // used, rdev, fsid
    let fileid = r.u64()?;
    r.skip(24)?; // atime, mtime, ctime
    Ok(Fattr3 { ftype, mode, uid, gid, size, fileid })
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
