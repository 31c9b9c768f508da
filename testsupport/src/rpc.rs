//! ONC RPC v2 calls over TCP (RFC 5531 9, 11): AUTH_SYS credentials, record
//! marking, one outstanding call at a time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::xdr::{XdrReader, XdrWriter};
use super::{Error, Result};

const CALL: u32 = 0;
const REPLY: u32 = 1;
const MSG_ACCEPTED: u32 = 0;
const AUTH_NONE: u32 = 0;
const AUTH_SYS: u32 = 1;
/// RFC 5531 11: the last-fragment bit of a record mark.
const LAST_FRAGMENT: u32 = 0x8000_0000;
/// Largest reply record accepted (a READ of 1 MiB plus headers).
pub const MAX_RECORD: usize = 2 << 20;

/// AUTH_SYS identity (RFC 5531 appendix A).
#[derive(Debug, Clone)]
pub struct AuthSys {
    pub machine: String,
    pub uid: u32,
    pub gid: u32,
}

impl Default for AuthSys {
    fn default() -> Self {
        Self { machine: "polyshare-testclient".into(), uid: 0, gid: 0 }
    }
}

/// Encodes one call message, record mark included.
pub fn encode_call(xid: u32, prog: u32, vers: u32, proc_: u32, auth: &AuthSys, args: &[u8]) -> Vec<u8> {
    let mut cred = XdrWriter::new();
    cred.u32(0).opaque(auth.machine.as_bytes()).u32(auth.uid).u32(auth.gid).u32(0);
    let mut w = XdrWriter::new();
    w.u32(0); // record mark, patched below
    w.u32(xid).u32(CALL).u32(2).u32(prog).u32(vers).u32(proc_);
    w.u32(AUTH_SYS).opaque(&cred.0);
    w.u32(AUTH_NONE).opaque(&[]);
    w.0.extend_from_slice(args);
    let mark = LAST_FRAGMENT | (w.0.len() - 4) as u32;
    w.0[..4].copy_from_slice(&mark.to_be_bytes());
    w.into_bytes()
}

/// Decodes a reply record; returns the xid and the procedure's results.
pub fn decode_reply(record: &[u8]) -> Result<(u32, &[u8])> {
    let mut r = XdrReader::new(record);
    let xid = r.u32()?;
    if r.u32()? != REPLY {
        return Err(Error::Malformed("RPC message is not a REPLY"));
    }
    let reply_stat = r.u32()?;
    if reply_stat != MSG_ACCEPTED {
        let reject_stat = r.u32()?;
        return Err(Error::Rpc(format!("MSG_DENIED reject_stat {reject_stat}")));
    }
    let _verf_flavor = r.u32()?;
    r.opaque(400)?;
    match r.u32()? {
        0 => Ok((xid, r.remaining())),
        s => Err(Error::Rpc(format!("accept_stat {s}"))),
    }
}

/// A TCP connection carrying RPC calls.
#[derive(Debug)]
pub struct RpcConnection {
    stream: TcpStream,
    xid: u32,
    auth: AuthSys,
    record: Vec<u8>,
}

impl RpcConnection {
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        // Distinct connections start at distinct xids, as real clients do.
        let xid = u32::from(stream.local_addr()?.port()) << 16;
        Ok(Self { stream, xid, auth: AuthSys::default(), record: Vec::new() })
    }

    pub fn set_auth(&mut self, auth: AuthSys) {
        self.auth = auth;
    }

    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        Ok(self.stream.set_read_timeout(timeout)?)
    }

    /// Sends a call without waiting; returns its xid.
    pub fn send(&mut self, prog: u32, vers: u32, proc_: u32, args: &[u8]) -> Result<u32> {
        self.xid = self.xid.wrapping_add(1);
        self.stream.write_all(&encode_call(self.xid, prog, vers, proc_, &self.auth, args))?;
        Ok(self.xid)
    }

    /// Waits for the next reply; returns its xid and results.
    pub fn recv(&mut self) -> Result<(u32, &[u8])> {
        self.read_record()?;
        decode_reply(&self.record)
    }

    /// Sends a call and waits for its reply; returns the results.
    pub fn call(&mut self, prog: u32, vers: u32, proc_: u32, args: &[u8]) -> Result<&[u8]> {
        let xid = self.send(prog, vers, proc_, args)?;
        let (rxid, results) = self.recv()?;
        if rxid != xid {
            return Err(Error::Unexpected(format!("reply xid {rxid:#x}, expected {xid:#x}")));
        }
        Ok(results)
    }

    /// Reads fragments up to the last one (RFC 5531 11).
    fn read_record(&mut self) -> Result<()> {
        self.record.clear();
        loop {
            let mut mark = [0u8; 4];
            self.stream.read_exact(&mut mark)?;
            let mark = u32::from_be_bytes(mark);
            let len = (mark & !LAST_FRAGMENT) as usize;
            if self.record.len() + len > MAX_RECORD {
                return Err(Error::Malformed("RPC record too large"));
            }
            let start = self.record.len();
            self.record.resize(start + len, 0);
            self.stream.read_exact(&mut self.record[start..])?;
            if mark & LAST_FRAGMENT != 0 {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_layout_matches_rfc5531() {
        let auth = AuthSys { machine: "ab".into(), uid: 1000, gid: 100 };
        let bytes = encode_call(0x11223344, 100003, 3, 1, &auth, &[0xAA, 0xBB, 0xCC, 0xDD]);
        #[rustfmt::skip]
        let expect: Vec<u8> = [
            0x80, 0, 0, 68,          // last fragment, 68 bytes
            0x11, 0x22, 0x33, 0x44,  // xid
            0, 0, 0, 0,              // CALL
            0, 0, 0, 2,              // rpcvers
            0, 1, 0x86, 0xA3,        // prog 100003
            0, 0, 0, 3, 0, 0, 0, 1,  // vers, proc
            0, 0, 0, 1, 0, 0, 0, 24, // AUTH_SYS, 24 bytes
            0, 0, 0, 0,              // stamp
            0, 0, 0, 2, b'a', b'b', 0, 0,
            0, 0, 0x03, 0xE8, 0, 0, 0, 100, 0, 0, 0, 0, // uid, gid, no gids
            0, 0, 0, 0, 0, 0, 0, 0,  // verf AUTH_NONE
            0xAA, 0xBB, 0xCC, 0xDD,
        ].to_vec();
        assert_eq!(bytes, expect);
    }

    #[test]
    fn reply_decoding() {
        let ok = [0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
        assert_eq!(decode_reply(&ok).unwrap(), (9, &[1u8, 2, 3, 4][..]));
        let garbage_args = [0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4];
        assert!(matches!(decode_reply(&garbage_args), Err(Error::Rpc(_))));
        let denied = [0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1];
        assert!(matches!(decode_reply(&denied), Err(Error::Rpc(_))));
        assert!(decode_reply(&[0, 0, 0, 9, 0, 0, 0, 0]).is_err());
        assert!(decode_reply(&[0, 0, 0]).is_err());
    }
}
