//! polyshare-testsupport: code the load generator (`examples/loadgen`), the
//! other examples and the tests of the polyshare workspace share, never
//! published.
//!
//! Minimal blocking clients for load generation and end-to-end tests: an
//! NFSv3 client (RFC 1813 over ONC RPC, RFC 5531, with TCP record marking)
//! and an SMB2 client (MS-SMB2, dialects 2.1 and 3.0.2, guest logon, no
//! signing). They speak only what the load generator needs, one request at a
//! time per connection, and never panic on what the server sends: every
//! malformed or unexpected reply is an [`Error`].

pub mod nfs;
pub mod rpc;
pub mod smb;
pub mod xdr;

use std::io;

/// What can go wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("io: {0}")]
    Io(io::Error),
    /// The server closed the connection.
    #[error("connection closed by the server")]
    Closed,
    /// The reply could not be decoded.
    #[error("malformed reply: {0}")]
    Malformed(&'static str),
    /// The reply does not answer the request (xid, MessageId, command).
    #[error("unexpected reply: {0}")]
    Unexpected(String),
    /// An RPC call was denied or not accepted (accept_stat / reject_stat).
    #[error("rpc {0}")]
    Rpc(String),
    /// An NFS procedure failed with this nfsstat3 / mountstat3.
    #[error("{proc_} failed: nfsstat3 {status}")]
    Nfs { proc_: &'static str, status: u32 },
    /// An SMB2 command failed with this NTSTATUS.
    #[error("{command} failed: status {status:#010x}")]
    Smb { command: &'static str, status: u32 },
    /// The server granted too few credits to send the next request.
    #[error("out of credits: have {have}, need {need}")]
    Credits { have: u32, need: u32 },
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => Error::Closed,
            _ => Error::Io(e),
        }
    }
}

impl Error {
    /// Whether the connection is unusable after this error.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Error::Io(_) | Error::Closed)
    }
}

pub type Result<T> = std::result::Result<T, Error>;
