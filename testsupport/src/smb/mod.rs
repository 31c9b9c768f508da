//! A blocking SMB2 client (MS-SMB2): dialects 2.1 and 3.0.2, guest session,
//! no signing, no oplocks or leases, one request in flight. Credits are
//! tracked: each request is charged (MS-SMB2 3.2.4.1.5) against what the
//! server granted, and an exhausted balance is an error.

pub mod auth;
pub mod wire;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::{Error, Result};
use wire::{Header, RequestHeader, command, status};

pub const DIALECT_2_1: u16 = 0x0210;
pub const DIALECT_3_0_2: u16 = 0x0302;
/// SessionFlags (MS-SMB2 2.2.6).
pub const SESSION_FLAG_IS_GUEST: u16 = 0x1;
pub const SESSION_FLAG_IS_NULL: u16 = 0x2;
/// Credits asked for with every request: enough to keep a window open.
const CREDIT_REQUEST: u16 = 32;
const UNSOLICITED_MESSAGE_ID: u64 = u64::MAX;

/// An open file's SMB2_FILEID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId(pub [u8; 16]);

/// A CREATE's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open {
    pub file_id: FileId,
    pub end_of_file: u64,
}

/// An SMB2 connection with at most one session and one tree.
#[derive(Debug)]
pub struct SmbClient {
    stream: TcpStream,
    next_message_id: u64,
    credits: u32,
    session_id: u64,
    tree_id: u32,
    dialect: u16,
    max_read: u32,
    max_write: u32,
    /// The last response, without the Direct TCP header.
    msg: Vec<u8>,
}

impl SmbClient {
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            next_message_id: 0,
            credits: 1,
            session_id: 0,
            tree_id: 0,
            dialect: 0,
            max_read: 65536,
            max_write: 65536,
            msg: Vec::new(),
        })
    }

    /// Connects, negotiates one of `dialects`, logs on as guest and connects
    /// to the share `\\<addr>\<share>`.
    pub fn login(addr: SocketAddr, timeout: Duration, dialects: &[u16], share: &str) -> Result<Self> {
        let mut c = Self::connect(addr, timeout)?;
        c.negotiate(dialects, c.client_guid()?)?;
        c.session_setup_guest("loadgen")?;
        c.tree_connect(&format!("\\\\{}\\{share}", addr.ip()))?;
        Ok(c)
    }

    /// A ClientGuid of this connection's own (leases are per ClientGuid):
    /// the process id and the local port.
    pub fn client_guid(&self) -> Result<[u8; 16]> {
        let mut guid = *b"polyshare-tc\0\0\0\0";
        guid[8..12].copy_from_slice(&std::process::id().to_le_bytes());
        guid[12..14].copy_from_slice(&self.stream.local_addr()?.port().to_le_bytes());
        Ok(guid)
    }

    pub fn dialect(&self) -> u16 {
        self.dialect
    }
    pub fn credits(&self) -> u32 {
        self.credits
    }
    /// The largest READ and WRITE the server accepts.
    pub fn max_io(&self) -> (u32, u32) {
        (self.max_read, self.max_write)
    }

    /// Sends one request and waits for its final response, which is left in
    /// `self.msg`. Interim (STATUS_PENDING) responses and unsolicited
    /// messages (oplock and lease breaks) are skipped.
    fn exchange(&mut self, cmd: u16, payload_len: usize, body: &[u8]) -> Result<Header> {
        // MS-SMB2 3.2.4.1.5: one credit per started 64 KiB; NEGOTIATE is free.
        let charge = if cmd == command::NEGOTIATE { 0 } else { payload_len.div_ceil(65536).max(1) as u16 };
        let need = u32::from(charge.max(1));
        if self.credits < need {
            return Err(Error::Credits { have: self.credits, need });
        }
        self.credits -= need;
        let message_id = self.next_message_id;
        self.next_message_id += u64::from(need);
        let h = RequestHeader {
            command: cmd,
            credit_charge: charge,
            credit_request: CREDIT_REQUEST.max(charge),
            message_id,
            tree_id: self.tree_id,
            session_id: self.session_id,
        };
        self.stream.write_all(&wire::encode_request(&h, body))?;
        loop {
            self.read_message()?;
            let r = wire::decode_header(&self.msg)?;
            if r.message_id == UNSOLICITED_MESSAGE_ID && r.command == command::OPLOCK_BREAK {
                continue;
            }
            if r.message_id != message_id || r.command != cmd || r.flags & wire::FLAGS_SERVER_TO_REDIR == 0 {
                return Err(Error::Unexpected(format!(
                    "response command {:#x} MessageId {} to command {cmd:#x} MessageId {message_id}",
                    r.command, r.message_id
                )));
            }
            self.credits += u32::from(r.credits);
            if r.status == status::PENDING && r.flags & wire::FLAGS_ASYNC_COMMAND != 0 {
                continue;
            }
            return Ok(r);
        }
    }

    fn read_message(&mut self) -> Result<()> {
        let mut nbss = [0u8; 4];
        self.stream.read_exact(&mut nbss)?;
        if nbss[0] != 0 {
            return Err(Error::Malformed("Direct TCP header type is not zero"));
        }
        let len = u32::from_be_bytes(nbss) as usize;
        if len > wire::MAX_MESSAGE {
            return Err(Error::Malformed("SMB2 message too large"));
        }
        self.msg.resize(len, 0);
        self.stream.read_exact(&mut self.msg)?;
        Ok(())
    }

    fn expect_success(h: &Header, command: &'static str) -> Result<()> {
        match h.status {
            status::SUCCESS => Ok(()),
            status => Err(Error::Smb { command, status }),
        }
    }

    /// NEGOTIATE (MS-SMB2 3.2.4.2.2.2); returns the dialect chosen.
    pub fn negotiate(&mut self, dialects: &[u16], client_guid: [u8; 16]) -> Result<u16> {
        let h = self.exchange(command::NEGOTIATE, 0, &wire::negotiate(dialects, client_guid))?;
        Self::expect_success(&h, "NEGOTIATE")?;
        let (dialect, max_read, max_write) = wire::negotiate_response(&self.msg)?;
        if !dialects.contains(&dialect) {
            return Err(Error::Unexpected(format!("server chose dialect {dialect:#x}")));
        }
        self.dialect = dialect;
        self.max_read = max_read.min(1 << 20);
        self.max_write = max_write.min(1 << 20);
        Ok(dialect)
    }

    /// SESSION_SETUP with SPNEGO-wrapped NTLMSSP for `user` without a
    /// password (a guest logon; "" is anonymous). Returns SessionFlags.
    pub fn session_setup_guest(&mut self, user: &str) -> Result<u16> {
        let first = auth::spnego_init(&auth::ntlm_negotiate());
        let h = self.exchange(command::SESSION_SETUP, 0, &wire::session_setup(&first))?;
        if h.status != status::MORE_PROCESSING_REQUIRED {
            return Err(Error::Smb { command: "SESSION_SETUP", status: h.status });
        }
        let (_, token) = wire::session_setup_response(&self.msg)?;
        if !auth::has_ntlm_challenge(token) {
            return Err(Error::Malformed("SESSION_SETUP: no NTLM CHALLENGE"));
        }
        self.session_id = h.session_id;
        let second = auth::spnego_resp(&auth::ntlm_authenticate_guest(user));
        let h = self.exchange(command::SESSION_SETUP, 0, &wire::session_setup(&second))?;
        Self::expect_success(&h, "SESSION_SETUP")?;
        Ok(wire::session_setup_response(&self.msg)?.0)
    }

    pub fn tree_connect(&mut self, unc: &str) -> Result<()> {
        let h = self.exchange(command::TREE_CONNECT, 0, &wire::tree_connect(unc))?;
        Self::expect_success(&h, "TREE_CONNECT")?;
        self.tree_id = (h.tree_or_async_id >> 32) as u32;
        Ok(())
    }

    pub fn create(&mut self, req: &wire::CreateRequest) -> Result<Open> {
        let h = self.exchange(command::CREATE, 0, &wire::create(req))?;
        Self::expect_success(&h, "CREATE")?;
        let (file_id, end_of_file) = wire::create_response(&self.msg)?;
        Ok(Open { file_id: FileId(file_id), end_of_file })
    }

    /// Opens or creates a regular file for reading and writing, sharing all.
    pub fn open_rw(&mut self, name: &str, disposition: u32) -> Result<Open> {
        self.create(&wire::CreateRequest {
            name,
            desired_access: wire::FILE_READ_DATA
                | wire::FILE_WRITE_DATA
                | wire::FILE_READ_ATTRIBUTES
                | wire::FILE_WRITE_ATTRIBUTES
                | wire::DELETE,
            share_access: wire::SHARE_ALL,
            disposition,
            options: wire::FILE_NON_DIRECTORY_FILE,
        })
    }

    pub fn close(&mut self, fid: FileId) -> Result<()> {
        let h = self.exchange(command::CLOSE, 0, &wire::close(&fid.0))?;
        Self::expect_success(&h, "CLOSE")
    }

    /// READ; at or past the end of file returns no data.
    pub fn read(&mut self, fid: FileId, offset: u64, length: u32) -> Result<Vec<u8>> {
        let h = self.exchange(command::READ, length as usize, &wire::read(&fid.0, offset, length))?;
        if h.status == status::END_OF_FILE {
            return Ok(Vec::new());
        }
        Self::expect_success(&h, "READ")?;
        let data = wire::read_response(&self.msg)?;
        if data.len() > length as usize {
            return Err(Error::Malformed("READ returned more than asked"));
        }
        Ok(data.to_vec())
    }

    /// ECHO (MS-SMB2 2.2.28): a round trip that touches no file.
    pub fn echo(&mut self) -> Result<()> {
        let h = self.exchange(command::ECHO, 0, &[4, 0, 0, 0])?;
        Self::expect_success(&h, "ECHO")
    }

    /// WRITE; returns the count written.
    pub fn write(&mut self, fid: FileId, offset: u64, data: &[u8]) -> Result<u32> {
        let h = self.exchange(command::WRITE, data.len(), &wire::write(&fid.0, offset, data))?;
        Self::expect_success(&h, "WRITE")?;
        wire::write_response(&self.msg)
    }

    /// SET_INFO FileEndOfFileInformation (MS-FSCC 2.4.13).
    pub fn set_end_of_file(&mut self, fid: FileId, size: u64) -> Result<()> {
        let body =
            wire::set_info(&fid.0, wire::SMB2_0_INFO_FILE, wire::FILE_END_OF_FILE_INFORMATION, &size.to_le_bytes());
        let h = self.exchange(command::SET_INFO, 0, &body)?;
        Self::expect_success(&h, "SET_INFO")
    }

    /// SET_INFO FileDispositionInformation (MS-FSCC 2.4.11): delete on last close.
    pub fn set_delete_pending(&mut self, fid: FileId) -> Result<()> {
        let body = wire::set_info(&fid.0, wire::SMB2_0_INFO_FILE, wire::FILE_DISPOSITION_INFORMATION, &[1]);
        let h = self.exchange(command::SET_INFO, 0, &body)?;
        Self::expect_success(&h, "SET_INFO")
    }
}

#[cfg(test)]
mod tests;
