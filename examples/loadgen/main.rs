//! A bounded load generator for polyshare on loopback: `--connections`
//! workers (SMB2 or NFSv3, mixed by `--smb-fraction`), each on its own
//! connection and its own file, for `--seconds`. Every worker writes
//! pseudo-random data at random offsets, reads ranges back, truncates,
//! reopens, and checks everything against a model of the file; at the end it
//! verifies the whole file and deletes it. SMB workers alternate between
//! dialects 2.1 and 3.0.2. With `--shared-fraction`, pairs of workers (one
//! SMB, one NFS) take turns on one file, each checking what the other wrote.
//! Prints
//! `LOADGEN ops=N errors=E mismatches=M bytes=B`; exits non-zero on any
//! error or mismatch.
//!
//! `cargo run --release --example loadgen -- --smb-port P --nfs-port Q --connections 200 --seconds 60`

mod stats;
mod target;
mod worker;

use std::net::{Ipv4Addr, SocketAddr};
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use polyshare_testsupport::smb::{DIALECT_2_1, DIALECT_3_0_2};

use stats::Stats;
use target::{NfsTarget, SmbTarget};
use worker::{Config, SharedFile, Worker};

#[derive(Debug, Parser)]
#[command(about = "Bounded SMB2 + NFSv3 load generator with content verification (127.0.0.1 only)")]
struct Args {
    #[arg(long)]
    smb_port: Option<u16>,
    #[arg(long)]
    nfs_port: Option<u16>,
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=2000))]
    connections: u32,
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    seconds: u64,
    /// Share of the connections that speak SMB; the rest speak NFS.
    #[arg(long, default_value_t = 0.5)]
    smb_fraction: f64,
    /// Share of the workers that work in pairs (ids 2k and 2k+1, an NFS and
    /// an SMB worker when --smb-fraction is 0.5) on one file, taking turns, so
    /// that each protocol reads what the other wrote.
    #[arg(long, default_value_t = 0.25)]
    shared_fraction: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Files never grow beyond this many bytes.
    #[arg(long, default_value_t = 256 * 1024)]
    max_file_size: u64,
    /// Largest single READ or WRITE.
    #[arg(long, default_value_t = 65536)]
    max_io: u32,
    /// Percentage of NFS writes sent FILE_SYNC (the rest UNSTABLE, then COMMIT).
    #[arg(long, default_value_t = 50)]
    sync_percent: u64,
    /// A reply slower than this is an error.
    #[arg(long, default_value_t = 30)]
    timeout_seconds: u64,
    #[arg(long, default_value = "share")]
    share: String,
    #[arg(long, default_value = "/share")]
    export: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let smb_workers = (f64::from(args.connections) * args.smb_fraction.clamp(0.0, 1.0)).round() as u32;
    let (smb_port, nfs_port) = match (args.smb_port, args.nfs_port) {
        (None, _) if smb_workers > 0 => return usage("--smb-port is needed when --smb-fraction > 0"),
        (_, None) if smb_workers < args.connections => return usage("--nfs-port is needed when --smb-fraction < 1"),
        (s, n) => (s.unwrap_or(0), n.unwrap_or(0)),
    };
    if args.max_io == 0 || args.max_file_size < u64::from(args.max_io) {
        return usage("need 0 < --max-io <= --max-file-size");
    }
    let localhost = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let (smb, nfs) = (localhost(smb_port), localhost(nfs_port));
    let timeout = Duration::from_secs(args.timeout_seconds);
    let start = Instant::now();
    let cfg = Config {
        deadline: start + Duration::from_secs(args.seconds),
        max_file_size: args.max_file_size,
        max_io: args.max_io,
        sync_percent: args.sync_percent,
    };
    let stats = Stats::default();
    let (stats, cfg) = (&stats, &cfg);
    let pid = std::process::id();
    let paired = ((f64::from(args.connections) * args.shared_fraction.clamp(0.0, 1.0)) as usize) & !1;
    let files: Vec<_> = (0..args.connections as usize)
        .map(
            |id| if id < paired && id % 2 == 1 { None } else { Some(SharedFile::new(if id < paired { 2 } else { 1 })) },
        )
        .collect();
    eprintln!(
        "loadgen: {} connections ({smb_workers} SMB, {} NFS; {paired} in pairs sharing a file) for {} s, seed {}",
        args.connections,
        args.connections - smb_workers,
        args.seconds,
        args.seed
    );
    thread::scope(|s| {
        for id in 0..args.connections as usize {
            // Spread SMB workers evenly among NFS ones.
            let is_smb = (id as u64 + 1) * u64::from(smb_workers) / u64::from(args.connections)
                > id as u64 * u64::from(smb_workers) / u64::from(args.connections);
            let seed = args.seed.wrapping_mul(0x1000_0000_01B3) ^ (id as u64).wrapping_mul(0x9E37_79B9);
            // A paired worker uses its even partner's file; the NFS member
            // creates it (ids alternate NFS, SMB when --smb-fraction is 0.5).
            let file_id = if id < paired { id & !1 } else { id };
            let second = id < paired && id % 2 == 1;
            let name = format!("loadgen-{pid}-{}-{file_id}.bin", args.seed);
            let shared = files.get(file_id).and_then(Option::clone).unwrap_or_else(|| SharedFile::new(1));
            let (share, export) = (&args.share, &args.export);
            let spawned = thread::Builder::new().stack_size(256 * 1024).spawn_scoped(s, move || {
                let run = || {
                    if is_smb {
                        // Alternate the dialects among SMB workers.
                        let dialect = if id % 4 < 2 { DIALECT_2_1 } else { DIALECT_3_0_2 };
                        match SmbTarget::connect(smb, timeout, dialect, share, name) {
                            Ok(t) => Worker::new(id, "smb", t, seed, (shared, second), stats, cfg).run(),
                            Err(e) => stats.error(format!("worker {id} (smb) connect: {e}")),
                        }
                    } else {
                        match NfsTarget::connect(nfs, timeout, export, name) {
                            Ok(t) => Worker::new(id, "nfs", t, seed, (shared, second), stats, cfg).run(),
                            Err(e) => stats.error(format!("worker {id} (nfs) connect: {e}")),
                        }
                    }
                };
                if panic::catch_unwind(AssertUnwindSafe(run)).is_err() {
                    stats.error(format!("worker {id} panicked"));
                }
                stats.finished.fetch_add(1, Relaxed);
            });
            if let Err(e) = spawned {
                stats.error(format!("worker {id}: cannot spawn a thread: {e}"));
                stats.finished.fetch_add(1, Relaxed);
            }
        }
        monitor(stats, start, cfg.deadline + timeout * 2 + Duration::from_secs(10), args.connections.into());
    });
    summary(stats, start, false)
}

/// Prints progress every 10 s until every worker has finished; exits the
/// process when workers are still running at `give_up` (threads blocked on a
/// socket cannot be joined).
fn monitor(stats: &Stats, start: Instant, give_up: Instant, workers: u64) {
    let mut last = (start, 0);
    loop {
        for _ in 0..100 {
            if stats.finished.load(Relaxed) >= workers {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
        let now = Instant::now();
        let (ops, errors, mismatches, _) = stats.get();
        let rate = (ops - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
        eprintln!(
            "t={:>4}s ops={ops} ops/s={rate:.0} errors={errors} mismatches={mismatches} running={}",
            now.duration_since(start).as_secs(),
            workers - stats.finished.load(Relaxed)
        );
        last = (now, ops);
        if now > give_up {
            eprintln!("loadgen: {} workers hung", workers - stats.finished.load(Relaxed));
            summary(stats, start, true);
            std::process::exit(1);
        }
    }
}

fn summary(stats: &Stats, start: Instant, hung: bool) -> ExitCode {
    let (ops, errors, mismatches, bytes) = stats.get();
    let errors = errors + u64::from(hung);
    let secs = start.elapsed().as_secs_f64();
    println!("LOADGEN ops={ops} errors={errors} mismatches={mismatches} bytes={bytes}");
    println!(
        "LOADGEN seconds={secs:.1} ops_per_sec={:.0} mib_per_sec={:.1}",
        ops as f64 / secs,
        bytes as f64 / secs / 1048576.0
    );
    if errors == 0 && mismatches == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("loadgen: {msg}");
    ExitCode::from(2)
}
