//! Checks every adapter runs in its own tests, so they test the same thing
//! the same way (feature `testing`).

use std::io;
use std::time::{Duration, Instant, UNIX_EPOCH};

use polyshare_core::record::{Event, Recorder, Recording};
use polyshare_core::{Config, Driver, MemoryFs, Seed, Server};

use crate::ServerOptions;

/// How long the server under test runs before it is stopped.
pub const RUN_FOR: Duration = Duration::from_millis(300);

/// The core's deadline wakes the adapter once, at or after the deadline.
///
/// `serve` runs the adapter with these options (NFS on a loopback port,
/// recording to a temporary file named after `adapter`) and this driver
/// (whose only deadline is 40 ms out) and stops it after [`RUN_FOR`]; the
/// recording must then hold exactly one timeout, not early.
pub fn sleeps_until_the_core_deadline(
    adapter: &str,
    serve: impl FnOnce(ServerOptions, Driver, Duration) -> io::Result<()>,
) {
    let file = std::env::temp_dir().join(format!("polyshare-{adapter}-timer-{}.psrec", std::process::id()));
    let opts = ServerOptions { nfs: "127.0.0.1:0".parse().ok(), record: Some(file.clone()), ..Default::default() };
    let t0 = Instant::now();
    let mut server = Server::new(Config::default(), Box::new(MemoryFs::new()), 1, t0);
    server.set_user_timer(7, t0 + Duration::from_millis(40));
    let driver = Driver::new(server, Some(Recorder::new(Seed::Fixed(1), UNIX_EPOCH, t0)));
    serve(opts, driver, RUN_FOR).unwrap();
    let rec = Recording::decode(&std::fs::read(&file).unwrap()).unwrap();
    std::fs::remove_file(&file).unwrap();
    let timeouts: Vec<Duration> = rec.events.iter().filter(|(_, e)| *e == Event::Timeout).map(|(t, _)| *t).collect();
    assert_eq!(timeouts.len(), 1, "{timeouts:?}");
    assert!(timeouts[0] >= Duration::from_millis(40), "{timeouts:?}");
}
