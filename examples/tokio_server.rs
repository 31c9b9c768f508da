//! polyshare on tokio: `cargo run --example tokio_server -- --help`.

mod common;

use clap::Parser;
use common::cli::Args;
use polyshare_tokio::{Listeners, runtime_builder, serve, shutdown_signal};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    runtime_builder().worker_threads(2).build()?.block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
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
    // The core task runs on the workers, beside the connections' readers
    // (see polyshare_tokio's crate documentation).
    tokio::spawn(serve(listeners, setup, shutdown)).await??;
    Ok(())
}
