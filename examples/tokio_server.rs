//! polyshare on tokio: `cargo run --example tokio_server -- --help`.

mod common;

use clap::Parser;
use common::cli::Args;
use polyshare_tokio::{Listeners, serve, shutdown_signal};

// The core runs on the main thread (in `block_on`); the connections' reader
// and writer tasks run on the worker threads, so socket copies happen beside
// the core, not on its thread.
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
    serve(listeners, setup, shutdown).await?;
    Ok(())
}
