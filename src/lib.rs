//! polyshare: one file tree served over SMB2/3 and NFSv3, coherent across
//! both. This facade re-exports the Sans-IO core (`polyshare-core`) and holds
//! the command line the example servers share; the runtime adapters are the
//! crates `polyshare-tokio`, `polyshare-mio` and `polyshare-async-std`.

pub mod cli;
#[cfg(feature = "testclient")]
pub mod testclient;

pub use polyshare_core::*;
// Listener options live with the adapters, not in the Sans-IO core.
pub use polyshare_runtime::{BoundAddrs, ServerOptions};
