//! A small NFSv3 client of the tests' own (RFC 1813 over RFC 5531 record
//! marking), for what libnfs-utils cannot do: overwrite an existing file,
//! send a call and wait for its reply separately, generate load.

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub const NFS_PROG: u32 = 100003;
pub const MOUNT_PROG: u32 = 100005;
pub const NFS3_OK: u32 = 0;
pub const NFS3ERR_JUKEBOX: u32 = 10008;
pub const FILE_SYNC: u32 = 2;
pub const UNSTABLE: u32 = 0;

#[derive(Default)]
pub struct Xdr(pub Vec<u8>);

impl Xdr {
    pub fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn opaque(mut self, b: &[u8]) -> Self {
        self = self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
        while self.0.len() % 4 != 0 {
            self.0.push(0);
        }
        self
    }
}

/// Reads XDR fields from a reply; panics on a short reply (test code).
pub struct Reader<'a>(pub &'a [u8]);

impl Reader<'_> {
    pub fn u32(&mut self) -> u32 {
        let (h, t) = self.0.split_at(4);
        self.0 = t;
        u32::from_be_bytes([h[0], h[1], h[2], h[3]])
    }
    pub fn u64(&mut self) -> u64 {
        ((self.u32() as u64) << 32) | self.u32() as u64
    }
    pub fn opaque(&mut self) -> Vec<u8> {
        let n = self.u32() as usize;
        let v = self.0[..n].to_vec();
        self.0 = &self.0[(n + 3) & !3..];
        v
    }
    pub fn skip(&mut self, n: usize) {
        self.0 = &self.0[n..];
    }
    /// post_op_attr: bool + fattr3 (84 bytes). Returns the size if present.
    pub fn post_op_attr(&mut self) -> Option<u64> {
        if self.u32() == 0 {
            return None;
        }
        let attr = &self.0[..84];
        let size = u64::from_be_bytes(attr[20..28].try_into().unwrap());
        self.skip(84);
        Some(size)
    }
    pub fn wcc_data(&mut self) {
        if self.u32() != 0 {
            self.skip(24);
        }
        self.post_op_attr();
    }
}

pub struct NfsClient {
    stream: TcpStream,
    xid: u32,
    uid: u32,
}

impl NfsClient {
    pub fn connect(port: u16) -> io::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        stream.set_nodelay(true)?;
        Ok(Self { stream, xid: 0x1000, uid: 0 })
    }

    /// Calls from now on carry AUTH_SYS uid `uid` and gid `uid`.
    pub fn with_uid(mut self, uid: u32) -> Self {
        self.uid = uid;
        self
    }

    pub fn set_read_timeout(&self, t: Option<Duration>) {
        let _ = self.stream.set_read_timeout(t);
    }

    /// Sends a call with AUTH_SYS credentials; returns its xid.
    pub fn send_call(&mut self, prog: u32, vers: u32, proc_: u32, args: &[u8]) -> io::Result<u32> {
        self.xid += 1;
        let cred = Xdr::default().u32(0).opaque(b"polyshare-test").u32(self.uid).u32(self.uid).u32(0).0;
        let mut msg = Xdr::default()
            .u32(self.xid)
            .u32(0)
            .u32(2)
            .u32(prog)
            .u32(vers)
            .u32(proc_)
            .u32(1)
            .opaque(&cred)
            .u32(0)
            .u32(0)
            .0;
        msg.extend_from_slice(args);
        let mut framed = (0x8000_0000u32 | msg.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(&msg);
        self.stream.write_all(&framed)?;
        Ok(self.xid)
    }

    /// Reads one reply record; returns (xid, results after accept_stat).
    pub fn recv_reply(&mut self) -> io::Result<(u32, u32, Vec<u8>)> {
        let mut record = Vec::new();
        loop {
            let mut mark = [0u8; 4];
            self.stream.read_exact(&mut mark)?;
            let word = u32::from_be_bytes(mark);
            let mut frag = vec![0u8; (word & 0x7fff_ffff) as usize];
            self.stream.read_exact(&mut frag)?;
            record.extend_from_slice(&frag);
            if word & 0x8000_0000 != 0 {
                break;
            }
        }
        let mut r = Reader(&record);
        let xid = r.u32();
        let _msg_type = r.u32();
        let reply_stat = r.u32();
        if reply_stat != 0 {
            return Ok((xid, 0xffff_0000 | r.u32(), r.0.to_vec()));
        }
        let _verf_flavor = r.u32();
        let _verf = r.opaque();
        let accept_stat = r.u32();
        Ok((xid, accept_stat, r.0.to_vec()))
    }

    pub fn call(&mut self, prog: u32, vers: u32, proc_: u32, args: &[u8]) -> io::Result<Vec<u8>> {
        let xid = self.send_call(prog, vers, proc_, args)?;
        let (rxid, accept, body) = self.recv_reply()?;
        if rxid != xid || accept != 0 {
            return Err(io::Error::other(format!("xid {rxid}/{xid}, accept_stat {accept}")));
        }
        Ok(body)
    }

    pub fn mount(&mut self, path: &str) -> io::Result<Vec<u8>> {
        let body = self.call(MOUNT_PROG, 3, 1, &Xdr::default().opaque(path.as_bytes()).0)?;
        let mut r = Reader(&body);
        match r.u32() {
            0 => Ok(r.opaque()),
            s => Err(io::Error::other(format!("MNT status {s}"))),
        }
    }

    pub fn lookup(&mut self, dir: &[u8], name: &str) -> io::Result<Result<Vec<u8>, u32>> {
        let body = self.call(NFS_PROG, 3, 3, &Xdr::default().opaque(dir).opaque(name.as_bytes()).0)?;
        let mut r = Reader(&body);
        Ok(match r.u32() {
            0 => Ok(r.opaque()),
            s => Err(s),
        })
    }

    /// CREATE UNCHECKED (an existing file is opened, not truncated).
    pub fn create(&mut self, dir: &[u8], name: &str) -> io::Result<Result<Vec<u8>, u32>> {
        let sattr = Xdr::default().u32(1).u32(0o644).u32(0).u32(0).u32(0).u32(0).u32(0).0;
        let mut args = Xdr::default().opaque(dir).opaque(name.as_bytes()).u32(0).0;
        args.extend_from_slice(&sattr);
        let body = self.call(NFS_PROG, 3, 8, &args)?;
        let mut r = Reader(&body);
        Ok(match r.u32() {
            0 => {
                if r.u32() == 1 {
                    Ok(r.opaque())
                } else {
                    self.lookup(dir, name)?
                }
            }
            s => Err(s),
        })
    }

    pub fn write_args(fh: &[u8], offset: u64, data: &[u8], stable: u32) -> Vec<u8> {
        Xdr::default().opaque(fh).u64(offset).u32(data.len() as u32).u32(stable).opaque(data).0
    }

    /// WRITE; returns nfsstat3 and the count written.
    pub fn write(&mut self, fh: &[u8], offset: u64, data: &[u8], stable: u32) -> io::Result<(u32, u32)> {
        let body = self.call(NFS_PROG, 3, 7, &Self::write_args(fh, offset, data, stable))?;
        Ok(Self::parse_write(&body))
    }

    pub fn parse_write(body: &[u8]) -> (u32, u32) {
        let mut r = Reader(body);
        let status = r.u32();
        r.wcc_data();
        if status != 0 {
            return (status, 0);
        }
        (status, r.u32())
    }

    pub fn read_args(fh: &[u8], offset: u64, count: u32) -> Vec<u8> {
        Xdr::default().opaque(fh).u64(offset).u32(count).0
    }

    /// READ; returns nfsstat3, data and eof.
    pub fn read(&mut self, fh: &[u8], offset: u64, count: u32) -> io::Result<(u32, Vec<u8>, bool)> {
        let body = self.call(NFS_PROG, 3, 6, &Self::read_args(fh, offset, count))?;
        Ok(Self::parse_read(&body))
    }

    pub fn parse_read(body: &[u8]) -> (u32, Vec<u8>, bool) {
        let mut r = Reader(body);
        let status = r.u32();
        r.post_op_attr();
        if status != 0 {
            return (status, Vec::new(), false);
        }
        let _count = r.u32();
        let eof = r.u32() != 0;
        (status, r.opaque(), eof)
    }

    pub fn setattr_size_args(fh: &[u8], size: u64) -> Vec<u8> {
        // sattr3: mode, uid, gid unset; size set; atime, mtime DONT_CHANGE; no guard.
        Xdr::default().opaque(fh).u32(0).u32(0).u32(0).u32(1).u64(size).u32(0).u32(0).u32(0).0
    }

    pub fn setattr_size(&mut self, fh: &[u8], size: u64) -> io::Result<u32> {
        let body = self.call(NFS_PROG, 3, 2, &Self::setattr_size_args(fh, size))?;
        Ok(Reader(&body).u32())
    }

    pub fn commit(&mut self, fh: &[u8]) -> io::Result<u32> {
        let body = self.call(NFS_PROG, 3, 21, &Xdr::default().opaque(fh).u64(0).u32(0).0)?;
        Ok(Reader(&body).u32())
    }

    pub fn remove(&mut self, dir: &[u8], name: &str) -> io::Result<u32> {
        let body = self.call(NFS_PROG, 3, 12, &Xdr::default().opaque(dir).opaque(name.as_bytes()).0)?;
        Ok(Reader(&body).u32())
    }

    /// RENAME (RFC 1813 3.3.14); the nfsstat3.
    pub fn rename(&mut self, from_dir: &[u8], from: &str, to_dir: &[u8], to: &str) -> io::Result<u32> {
        let args = Xdr::default().opaque(from_dir).opaque(from.as_bytes()).opaque(to_dir).opaque(to.as_bytes());
        let body = self.call(NFS_PROG, 3, 14, &args.0)?;
        Ok(Reader(&body).u32())
    }
}
