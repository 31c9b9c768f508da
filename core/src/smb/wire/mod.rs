//! SMB2 wire formats: one module per command group.

pub mod change_notify;
pub mod codec;
pub mod create;
pub mod copychunk;
pub mod create_context;
pub mod error;
pub mod header;
pub mod ioctl;
pub mod negotiate;
pub mod network_interface;
pub mod oplock_break;
pub mod query;
pub mod read_write;
pub mod session_setup;
pub mod smb1;
pub mod sparse;
pub mod transform;
pub mod utf16;

#[cfg(test)]
pub mod testutil;
