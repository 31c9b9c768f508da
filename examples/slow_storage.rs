//! Slow storage must not stall the event loop: on each runtime (tokio, mio,
//! async-std) in turn, the server runs on 127.0.0.1 over a `Vfs` that sleeps
//! 50 ms in every data operation (read_into, write, sync) and delegates all
//! else to `MemoryFs`. One SMB client streams 1 MiB READs of an 8 MiB file
//! back to back; meanwhile a second SMB client sends ECHO every 2 ms for a
//! few seconds and records the round trips. Prints, per runtime, the ECHO
//! median, p99 and max, and how many READs the first client completed.
//!
//! `cargo run --release --example slow_storage [SECONDS]` (default 3 s of
//! ECHOs per runtime); it stops by itself.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use polyshare::ServerOptions;
use polyshare_core::config::Config;
use polyshare_core::time::Timespec;
use polyshare_core::vfs::{CreateAttr, DataHook, MemoryFs, ObjectId, Observed, Vfs, VfsResult};
use polyshare_core::{Seed, Setup};
use polyshare_testsupport::smb::{SmbClient, wire};

const DELAY: Duration = Duration::from_millis(50);
const FILE_LEN: usize = 8 << 20;
const READ_LEN: u32 = 1 << 20;
const ECHO_EVERY: Duration = Duration::from_millis(2);
const TIMEOUT: Duration = Duration::from_secs(10);
const SMB3_0_2: u16 = 0x0302;

/// Data operations that take 50 ms each.
#[derive(Debug)]
struct Slow;

impl DataHook for Slow {
    fn read(&self, _: ObjectId, _: u64, _: &[u8]) -> VfsResult<()> {
        thread::sleep(DELAY);
        Ok(())
    }
    fn write(&self, _: ObjectId, _: u64, _: &[u8]) -> VfsResult<()> {
        thread::sleep(DELAY);
        Ok(())
    }
    fn write_spliced(&self, _: ObjectId, _: u64, _: usize) -> VfsResult<()> {
        thread::sleep(DELAY);
        Ok(())
    }
    fn sync(&self, _: ObjectId) -> VfsResult<()> {
        thread::sleep(DELAY);
        Ok(())
    }
}

/// A slow MemoryFs holding `big` (8 MiB), written before it is slowed down.
fn setup() -> Setup {
    let fs = MemoryFs::new();
    let t = Timespec::new(1, 0);
    let a = fs.create(fs.root(), "big", CreateAttr { mode: 0o666, uid: 0, gid: 0 }, t).expect("create big");
    let data: Vec<u8> = (0..FILE_LEN).map(|i| (i % 251) as u8).collect();
    fs.write(a.id, 0, &data, t).expect("fill big");
    Setup { config: Config::default(), vfs: Box::new(Observed::new(Box::new(fs), Slow)), seed: Some(Seed::Fixed(1)) }
}

fn options() -> ServerOptions {
    let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    ServerOptions { smb: Some(local), nfs: None, portmap: None, ..ServerOptions::default() }
}

/// A running server: its SMB address, how to stop it, its thread.
struct Running {
    smb: SocketAddr,
    stop: Box<dyn FnOnce()>,
    thread: thread::JoinHandle<()>,
}

/// Starts a server on one runtime.
type Start = fn() -> Running;

fn start_tokio() -> Running {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
        rt.block_on(async move {
            let listeners = polyshare_tokio::Listeners::bind(options()).await.expect("bind");
            addr_tx.send(listeners.local_addrs().smb.expect("SMB address")).expect("report address");
            let shutdown = async move {
                let _ = stop_rx.await;
            };
            polyshare_tokio::serve(listeners, setup(), shutdown).await.expect("tokio serve");
        });
    });
    let smb = addr_rx.recv().expect("tokio server address");
    Running {
        smb,
        stop: Box::new(move || {
            let _ = stop_tx.send(());
        }),
        thread,
    }
}

fn start_mio() -> Running {
    let listeners = polyshare_mio::Listeners::bind(options()).expect("bind");
    let smb = listeners.local_addrs().smb.expect("SMB address");
    let stopper = listeners.stopper();
    let thread = thread::spawn(move || polyshare_mio::serve(listeners, setup()).expect("mio serve"));
    Running { smb, stop: Box::new(move || stopper.stop()), thread }
}

fn start_async_std() -> Running {
    let listeners = polyshare_async_std::Listeners::bind(options()).expect("bind");
    let smb = listeners.local_addrs().smb.expect("SMB address");
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let thread = thread::spawn(move || {
        let shutdown = async move {
            let _ = stop_rx.recv().await;
        };
        async_io::block_on(polyshare_async_std::serve(listeners, setup(), shutdown)).expect("async-std serve");
    });
    Running {
        smb,
        stop: Box::new(move || {
            let _ = stop_tx.try_send(());
        }),
        thread,
    }
}

/// What one runtime's run measured.
struct Figures {
    echoes: Vec<Duration>,
    reads: u64,
    read_secs: f64,
}

fn measure(smb: SocketAddr, echo_for: Duration) -> Figures {
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let reader = {
        let (stop, reads) = (stop.clone(), reads.clone());
        thread::spawn(move || {
            let mut c = SmbClient::login(smb, TIMEOUT, &[SMB3_0_2], "share").expect("reader login");
            let fid = c.open_rw("big", wire::FILE_OPEN).expect("open big").file_id;
            let started = Instant::now();
            let mut offset = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let data = c.read(fid, offset, READ_LEN).expect("READ");
                assert_eq!(data.len(), READ_LEN as usize);
                reads.fetch_add(1, Ordering::Relaxed);
                offset = (offset + u64::from(READ_LEN)) % FILE_LEN as u64;
            }
            started.elapsed().as_secs_f64()
        })
    };
    // Let the reader get its first READ in flight.
    let mut echo = SmbClient::login(smb, TIMEOUT, &[SMB3_0_2], "share").expect("echo login");
    while reads.load(Ordering::Relaxed) == 0 {
        thread::sleep(Duration::from_millis(5));
    }
    let mut echoes = Vec::new();
    let start = Instant::now();
    let mut next = start;
    while start.elapsed() < echo_for {
        let t = Instant::now();
        echo.echo().expect("ECHO");
        echoes.push(t.elapsed());
        next += ECHO_EVERY;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let read_secs = reader.join().expect("reader thread");
    Figures { echoes, reads: reads.load(Ordering::Relaxed), read_secs }
}

fn main() {
    let secs: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let echo_for = Duration::from_secs(secs);
    println!(
        "slow storage: every read_into/write/sync sleeps {DELAY:?}; reader: 1 MiB SMB READs back to back; \
         ECHO every {ECHO_EVERY:?} for {echo_for:?}"
    );
    let runtimes: [(&str, Start); 3] = [("tokio", start_tokio), ("mio", start_mio), ("async-std", start_async_std)];
    for (name, start) in runtimes {
        let running = start();
        let mut f = measure(running.smb, echo_for);
        (running.stop)();
        running.thread.join().expect("server thread");
        f.echoes.sort();
        let pct = |p: f64| f.echoes[((f.echoes.len() - 1) as f64 * p).round() as usize];
        println!(
            "{name:<10} ECHO n={} median {:?} p99 {:?} max {:?}; READs completed {} ({:.1} MiB/s)",
            f.echoes.len(),
            pct(0.5),
            pct(0.99),
            f.echoes[f.echoes.len() - 1],
            f.reads,
            f.reads as f64 / f.read_secs,
        );
    }
}
