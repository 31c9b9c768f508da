//! Recordings (core::record): `Recording::decode` never panics; a decoded
//! recording re-records to bytes that decode the same, and replays through a
//! fresh server without panicking.
#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use polyshare_core::record::{Recorder, Recording};
use polyshare_core::{Config, MemoryFs, Server};

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fuzz_target!(|data: &[u8]| {
    let Ok(rec) = Recording::decode(data) else { return };
    let t0 = start();
    let mut r = Recorder::new(rec.seed, rec.wall_anchor, t0);
    for (t, ev) in &rec.events {
        r.record(ev, t0 + *t);
    }
    let again = Recording::decode(&r.take()).expect("a re-recorded recording decodes");
    assert_eq!(again, rec, "recording does not round trip");

    let mut server = Server::with_seed(Config::default(), Box::new(MemoryFs::default()), rec.seed, t0);
    let _ = rec.replay(&mut server, t0);
});
