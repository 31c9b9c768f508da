//! polyshare: one file tree served over SMB2/3 and NFSv3, coherent across
//! both.
//!
//! This crate is a thin facade and holds no code of its own. It re-exports
//! the Sans-IO core, `polyshare-core` (the protocol state machines, `Server`,
//! `Config`, the `Vfs` trait and its implementations), and the listener
//! options the runtime adapters share, `ServerOptions` and `BoundAddrs` from
//! `polyshare-runtime`. The adapters are the crates `polyshare-tokio`,
//! `polyshare-mio` and `polyshare-async-std`; the features of the same names
//! pull them in, and the example servers of this package need them.
//!
//! The command line of the example servers is the `polyshare` binary's
//! (`server/src/cli.rs`, crate `polyshare-server`); the blocking SMB2 and NFSv3 clients of the
//! load generator and the tests live in the unpublished
//! `polyshare-testsupport` crate.

pub use polyshare_core::*;
// Listener options live with the adapters, not in the Sans-IO core.
pub use polyshare_runtime::{BoundAddrs, ServerOptions};
