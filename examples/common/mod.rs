//! Code the example servers share. Each server includes it with `mod common;`
//! (a directory, so Cargo does not take it for an example of its own).

pub mod cli;
