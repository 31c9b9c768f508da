//! polyshare on tokio: `cargo run --example tokio_server -- --help`.

mod common;

use clap::Parser;
use common::cli::Args;
use polyshare_tokio::{Listeners, serve, shutdown_signal};

// The core task runs on the runtime's worker threads, beside the
// connections' reader tasks: a reader that wakes it hands it the message on
// the same thread (see polyshare_tokio's crate documentation).
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    args.init_logging();
    let listeners = Listeners::bind(args.options()).await?;
    let setup = args.setup()?;
    args.announce(&listeners.local_addrs())?;
    let shutdown = async {
        match shutdown_signal().await {
            Ok(()) => tracing::info!("shutting down"),
            Err(e) => tracing::error!(error = %e, "cannot watch for signals; stopping"),
        }
    };
    tokio::spawn(serve(listeners, setup, shutdown)).await??;
    Ok(())
}
