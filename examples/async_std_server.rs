//! polyshare on async-io/futures-lite (the async-std and smol family):
//! `cargo run --example async_std_server -- --help`.

mod common;

use clap::Parser;
use common::cli::Args;
use polyshare_async_std::{Listeners, serve, shutdown_signal};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    args.init_logging();
    let listeners = Listeners::bind(args.options())?;
    let setup = args.setup()?;
    args.announce(&listeners.local_addrs())?;
    let shutdown = async {
        match shutdown_signal().await {
            Ok(()) => tracing::info!("shutting down"),
            Err(e) => tracing::error!(error = %e, "cannot watch for signals; stopping"),
        }
    };
    async_io::block_on(serve(listeners, setup, shutdown))?;
    Ok(())
}
