//! The library half of the `polyshare` binary: the flags of `polyshare
//! serve` (shared with the example servers), the configuration file and the
//! user database. The library crates (core, runtimes) take plain
//! [`polyshare_core::Config`] values; everything about files and command
//! lines stays here.

pub mod cli;
pub mod config_file;
pub mod control;
pub mod metrics;
pub mod storage;
pub mod users;
