//! polyshare-core: the Sans-IO heart of polyshare. It serves one file tree
//! over SMB2/3 and NFSv3 and keeps the two coherent through one lease table:
//! an NFS write to a file an SMB client caches under a lease first breaks
//! that lease, then lands.
//!
//! The core never owns a socket, a clock, a thread or an entropy source. It
//! is fed connection events, bytes and instants ([`Server::accept`],
//! [`Server::handle_input`], [`Server::handle_timeout`], ...) and hands back
//! what to do ([`Server::poll_output`]: bytes to send, connections to close,
//! storage requests to run) and when to call again
//! ([`Server::poll_timeout`]). Storage requests ([`IoRequest`]) may run on
//! any thread; their completions come back through [`Server::handle_io`].
//!
//! # A whole run loop
//!
//! A server on a plain blocking `std::net` loop, one client at a time (the
//! example `std_server` does the same for many clients with `poll(2)`; the
//! `polyshare-tokio`, `polyshare-mio` and `polyshare-async-std` crates are
//! ready-made adapters):
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::net::TcpListener;
//! use std::time::{Duration, Instant};
//!
//! use polyshare_core::{Config, MemoryFs, Output, Protocol, Server};
//!
//! let listener = TcpListener::bind("127.0.0.1:4445")?;
//! let mut server = Server::new(Config::default(), Box::new(MemoryFs::new()), 42, Instant::now());
//! for stream in listener.incoming() {
//!     let mut stream = stream?;
//!     let peer = stream.peer_addr()?;
//!     let Ok(conn) = server.accept(Protocol::Smb, peer, Instant::now()) else { continue };
//!     let mut buf = vec![0u8; 64 * 1024];
//!     'conn: loop {
//!         // Sleep until input arrives or the core's next deadline.
//!         let wait = server.poll_timeout().map(|t| t.saturating_duration_since(Instant::now()));
//!         stream.set_read_timeout(Some(wait.unwrap_or(Duration::from_secs(1)).max(Duration::from_millis(1))))?;
//!         match stream.read(&mut buf) {
//!             Ok(0) => {
//!                 server.handle_closed(conn, Instant::now());
//!                 break 'conn;
//!             }
//!             Ok(n) => server.handle_input(conn, &buf[..n], Instant::now()),
//!             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
//!                 server.handle_timeout(Instant::now())
//!             }
//!             Err(_) => {
//!                 server.handle_closed(conn, Instant::now());
//!                 break 'conn;
//!             }
//!         }
//!         // Do everything the core asks, in order; a storage completion
//!         // can queue more output, so drain until nothing is left.
//!         while let Some(out) = server.poll_output() {
//!             match out {
//!                 Output::Transmit { data, .. } => stream.write_all(&data)?,
//!                 Output::Close { .. } => break 'conn,
//!                 // Memory storage never blocks: run the request here.
//!                 Output::Io(req) => server.handle_io(req.run(), Instant::now()),
//!             }
//!         }
//!     }
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The same loop, checked: a client's SMB2 NEGOTIATE goes in, the response
//! comes out.
//!
//! ```
//! use std::time::Instant;
//!
//! use polyshare_core::{Config, ConnId, MemoryFs, Output, Protocol, Server};
//!
//! let now = Instant::now();
//! let mut server = Server::new(Config::default(), Box::new(MemoryFs::new()), 7, now);
//! let conn: ConnId = server.accept(Protocol::Smb, "127.0.0.1:50000".parse().unwrap(), now).unwrap();
//!
//! // An SMB2 NEGOTIATE offering dialect 2.1 (MS-SMB2 2.2.3), after its
//! // 4-byte Direct-TCP length.
//! let mut msg = vec![0u8; 64 + 36 + 2];
//! msg[..4].copy_from_slice(b"\xfeSMB");
//! msg[4] = 64; // StructureSize of the header
//! msg[64] = 36; // StructureSize of the request
//! msg[66] = 1; // DialectCount
//! msg[100..102].copy_from_slice(&0x0210u16.to_le_bytes());
//! let mut frame = (msg.len() as u32).to_be_bytes().to_vec();
//! frame.extend_from_slice(&msg);
//! server.handle_input(conn, &frame, now);
//!
//! let Some(Output::Transmit { conn: to, data }) = server.poll_output() else { panic!("no reply") };
//! assert_eq!(to, conn);
//! assert_eq!(&data[4..8], b"\xfeSMB");
//! // The NEGOTIATE response (command 0) chose dialect 2.1.
//! assert_eq!(u16::from_le_bytes([data[4 + 12], data[4 + 13]]), 0);
//! assert_eq!(u16::from_le_bytes([data[4 + 64 + 4], data[4 + 64 + 5]]), 0x0210);
//! ```
//!
//! # Map
//!
//! - [`Server`]: the state machine; [`Driver`] is the same with every input
//!   recorded ([`record`]) so a session replays byte for byte.
//! - [`Seed`]: what every random value derives from; [`Setup::start`]
//!   keys the server with the OS entropy the adapter passes in [`Start`].
//! - [`Config`] ([`config`]): shares, exports, users, limits.
//! - [`Vfs`] ([`vfs`]): the storage interface, with [`MemoryFs`] and
//!   [`LocalFs`].
//! - [`lease`]: the lease/oplock/byte-range-lock table, a state machine of
//!   its own that both protocols describe their operations to.
//! - [`framing`]: message boundaries, for adapters that frame input
//!   themselves ([`Server::handle_frame`]).
//! - [`splice`]: READ data that goes from a kernel file to the socket
//!   through pipes, never through user space ([`Reply::Spliced`]).
//!
//! With the `sim` feature the protocol modules, test hooks and a simulated
//! world (`testing`) are public, for tests, fuzz targets and benchmarks.

#![cfg_attr(not(feature = "sim"), warn(missing_docs))]
// Unit tests may read the real clock to make base instants; the library may not.
#![cfg_attr(test, allow(clippy::disallowed_methods))]

/// Modules private to the crate, public with the `sim` feature: tests, fuzz
/// targets and benchmarks reach into the codecs and protocol state through
/// them; an embedder never needs to. Without `sim`, the codec halves only
/// those users call (request encoders, response decoders) go unused, which
/// is expected rather than dead code.
macro_rules! internal {
    ($($name:ident),* $(,)?) => {
        $(
            #[cfg(feature = "sim")]
            pub mod $name;
            #[cfg(not(feature = "sim"))]
            #[allow(dead_code, unused_imports)]
            mod $name;
        )*
    };
}

internal!(access, common, driver, id, io, latency, nfs, output, rng, server, smb, stats, time);

pub mod config;
pub mod framing;
pub mod lease;
pub mod record;
pub mod snapshot;
pub mod splice;
pub mod vfs;

#[cfg(any(test, feature = "sim"))]
pub mod testing;

pub use config::Config;
pub use driver::{Driver, Setup, Start};
pub use id::{ConnId, Protocol, WaitToken};
pub use io::{BULK_BYTES, IoCompletion, IoId, IoOp, IoRequest, MessageCheck, Reply, SplicedReply, WriteData};
pub use output::Output;
pub use rng::Seed;
pub use server::{AcceptError, Server};
pub use stats::{Histogram, NFS3_PROCEDURES, SMB_COMMANDS, Stats, WAIT_BUCKETS};
pub use time::Timespec;
pub use vfs::{LocalFs, MemoryFs, Vfs};
