//! polyshare on mio (one thread): `cargo run --example mio_server -- --help`.

mod common;

use clap::Parser;
use common::cli::Args;
use polyshare_mio::{Listeners, serve};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    args.init_logging();
    let listeners = Listeners::bind(args.options())?;
    let setup = args.setup()?;
    listeners.stopper().stop_on_signals()?;
    args.announce(&listeners.local_addrs())?;
    serve(listeners, setup)?;
    Ok(())
}
