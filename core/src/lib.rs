//! polyshare-core: the Sans-IO heart of polyshare. It serves one file tree
//! over SMB2/3 and NFSv3 and keeps the two coherent through one lease table.
//! It is fed bytes, connection events and instants, and hands back bytes to
//! send, connections to close and the next instant it wants to be woken. It
//! never owns a socket, a clock, a thread or an entropy source.

// Unit tests may read the real clock to make base instants; the library may not.
#![cfg_attr(test, allow(clippy::disallowed_methods))]

pub mod common;
pub mod config;
pub mod driver;
pub mod framing;
pub mod id;
pub mod io;
pub mod lease;
pub mod nfs;
pub mod output;
pub mod record;
pub mod rng;
pub mod server;
pub mod smb;
pub mod stats;
pub mod time;
pub mod vfs;

#[cfg(feature = "sim")]
pub mod sim;

#[cfg(test)]
mod cross_tests;
#[cfg(test)]
mod simulation;
#[cfg(any(test, feature = "sim"))]
pub mod smb_test_client;

pub use config::Config;
pub use driver::{Driver, Setup, Start};
pub use id::{ConnId, Protocol, WaitToken};
pub use io::{IoCompletion, IoId, IoOp, IoRequest};
pub use output::Output;
pub use server::{AcceptError, Server};
pub use stats::Stats;
pub use vfs::{LocalFs, MemoryFs, Vfs};
