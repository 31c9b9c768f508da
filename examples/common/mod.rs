//! Code the example servers share. Each server includes it with `mod common;`
//! (a directory, so Cargo does not take it for an example of its own).
//!
//! The command line lives in the `polyshare` binary's crate (`server/`),
//! whose `serve` takes the same flags.

pub use polyshare_server::cli;
