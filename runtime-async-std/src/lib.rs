//! polyshare on async-io and futures-lite, the pieces async-std was built
//! from and smol is built on: [`serve`] runs under `async_io::block_on`,
//! `smol::block_on` or `async_std::task::block_on` alike. It runs its own
//! single-threaded executor: one task owns the Sans-IO [`Driver`] and is the
//! only one that calls the core; per-connection reader tasks send it what
//! they read over one bounded channel, and per-connection writer tasks send
//! what it produces. Backpressure: while more than
//! [`ServerOptions::output_limit`] bytes are queued for a connection its
//! reader stops reading, so a peer that does not read cannot make the server
//! buffer without bound (and no data is ever dropped).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs::File;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use async_channel::{Receiver, Sender};
use async_executor::{LocalExecutor, Task};
use async_io::{Async, Timer};
use bytes::Bytes;
use futures_lite::future;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use polyshare_core::{ConnId, Driver, Output, Protocol, Setup, Start};

pub use polyshare_core::{BoundAddrs, ServerOptions};

const READ_CHUNK: usize = 64 * 1024;
const EVENT_QUEUE: usize = 256;
/// Recorded bytes are written out when this many are pending, and at least
/// once a second.
const RECORD_FLUSH: usize = 1 << 20;
const RECORD_INTERVAL: Duration = Duration::from_secs(1);
/// Pause after a failed accept (for example EMFILE) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a closed connection keeps draining input (see [`linger`]).
const LINGER: Duration = Duration::from_secs(2);

/// Listening sockets, bound before the server is built so that the NFS port
/// the portmapper reports is the real one.
#[derive(Debug)]
pub struct Listeners {
    listeners: Vec<(Async<TcpListener>, Protocol)>,
    addrs: BoundAddrs,
    opts: ServerOptions,
}

impl Listeners {
    pub fn bind(opts: ServerOptions) -> io::Result<Self> {
        let mut listeners = Vec::new();
        let mut addrs = BoundAddrs::default();
        for (addr, protocol, bound) in [
            (opts.smb, Protocol::Smb, &mut addrs.smb),
            (opts.nfs, Protocol::Nfs, &mut addrs.nfs),
            (opts.portmap, Protocol::Nfs, &mut addrs.portmap),
        ] {
            if let Some(addr) = addr {
                let l = Async::<TcpListener>::bind(addr)?;
                *bound = Some(l.get_ref().local_addr()?);
                listeners.push((l, protocol));
            }
        }
        Ok(Self { listeners, addrs, opts })
    }

    pub fn local_addrs(&self) -> BoundAddrs {
        self.addrs
    }
}

/// Resolves on the first SIGINT or SIGTERM.
pub async fn shutdown_signal() -> io::Result<()> {
    let (rx, tx) = UnixStream::pair()?;
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::low_level::pipe::register(sig, tx.try_clone()?)?;
    }
    let rx = Async::new(rx)?;
    rx.read_with(|mut s| s.read(&mut [0u8; 1])).await.map(drop)
}

/// Serves until `shutdown` resolves, then stops accepting, gives queued
/// replies up to [`ServerOptions::shutdown_grace`] to go out, and returns.
pub async fn serve(listeners: Listeners, setup: Setup, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    let record = listeners.opts.record.as_ref().map(File::create).transpose()?;
    let start = Start {
        nfs_port: listeners.addrs.nfs.map(|a| a.port()),
        entropy: RandomState::new().hash_one(0u8),
        wall: SystemTime::now(),
        now: Instant::now(),
        record: record.is_some(),
    };
    let driver = setup.start(start);
    tracing::info!(seed = driver.seed(), "server started");
    let ex = LocalExecutor::new();
    ex.run(run(&ex, listeners, driver, record, shutdown)).await
}

/// [`serve`] with a [`Driver`] the caller built (its own seed, anchor,
/// recorder, or timers set beforehand); the recorder's output goes to
/// [`ServerOptions::record`].
pub async fn serve_driver(listeners: Listeners, driver: Driver, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    let record = listeners.opts.record.as_ref().map(File::create).transpose()?;
    let ex = LocalExecutor::new();
    ex.run(run(&ex, listeners, driver, record, shutdown)).await
}

async fn run(
    ex: &LocalExecutor<'_>,
    listeners: Listeners,
    driver: Driver,
    mut record: Option<File>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let Listeners { listeners, addrs: _, opts } = listeners;
    let (tx, rx) = async_channel::bounded(EVENT_QUEUE);
    let accepts: Vec<Task<()>> =
        listeners.into_iter().map(|(l, protocol)| ex.spawn(accept_loop(l, protocol, tx.clone()))).collect();
    let mut core = CoreTask { ex, driver, opts, tx, conns: BTreeMap::new(), writers: Vec::new() };
    let result = core.run(rx, shutdown, &mut record).await;
    drop(accepts);
    core.shut_down().await;
    flush_recording(&mut core.driver, &mut record);
    result
}

/// What the other tasks tell the core task.
#[derive(Debug)]
enum Event {
    Accepted(Protocol, Async<TcpStream>, SocketAddr),
    Input(ConnId, Bytes),
    /// End of stream or a read error.
    ReadEnd(ConnId, Option<io::Error>),
    WriteFailed(ConnId, io::Error),
}

/// Shared by one connection's tasks (all on one thread).
#[derive(Debug)]
struct Shared {
    stream: Async<TcpStream>,
    /// Bytes queued for the writer.
    queued: Cell<usize>,
    /// A permit when the queue drops to the limit (the reader waits on it).
    drained: (Sender<()>, Receiver<()>),
    /// A permit when the writer has closed our side (the reader lingers).
    closed: (Sender<()>, Receiver<()>),
}

#[derive(Debug)]
struct Conn {
    shared: Rc<Shared>,
    /// Dropping it lets the writer flush what is queued and close.
    writes: Sender<Bytes>,
    /// Dropping it stops the reader.
    reader: Task<()>,
}

/// Phases of the core loop, first ready first.
enum Step {
    Shutdown,
    Timeout,
    Event(Option<Event>),
    RecordTick,
}

struct CoreTask<'a, 'ex> {
    ex: &'a LocalExecutor<'ex>,
    driver: Driver,
    opts: ServerOptions,
    tx: Sender<Event>,
    conns: BTreeMap<ConnId, Conn>,
    writers: Vec<Task<()>>,
}

impl CoreTask<'_, '_> {
    async fn run(
        &mut self,
        rx: Receiver<Event>,
        shutdown: impl Future<Output = ()>,
        record: &mut Option<File>,
    ) -> io::Result<()> {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut record_due = Instant::now() + RECORD_INTERVAL;
        loop {
            let timer = self.driver.poll_timeout().map_or_else(Timer::never, Timer::at);
            let tick = if record.is_some() { Timer::at(record_due) } else { Timer::never() };
            let step = future::or(
                async {
                    (&mut shutdown).await;
                    Step::Shutdown
                },
                future::or(
                    async {
                        timer.await;
                        Step::Timeout
                    },
                    future::or(async { Step::Event(rx.recv().await.ok()) }, async {
                        tick.await;
                        Step::RecordTick
                    }),
                ),
            )
            .await;
            match step {
                Step::Shutdown | Step::Event(None) => return Ok(()),
                Step::Timeout => self.driver.timeout(Instant::now()),
                Step::Event(Some(ev)) => self.event(ev),
                Step::RecordTick => {
                    flush_recording(&mut self.driver, record);
                    record_due = Instant::now() + RECORD_INTERVAL;
                }
            }
            self.outputs();
            if self.driver.recording_pending() >= RECORD_FLUSH {
                flush_recording(&mut self.driver, record);
            }
        }
    }

    fn event(&mut self, ev: Event) {
        let now = Instant::now();
        match ev {
            Event::Accepted(protocol, stream, peer) => match self.driver.accept(protocol, peer, now) {
                Ok(conn) => self.spawn_conn(conn, stream),
                Err(e) => tracing::warn!(%peer, error = %e, "refusing connection"),
            },
            Event::Input(conn, data) => {
                if self.conns.contains_key(&conn) {
                    self.driver.input(conn, &data, now);
                }
            }
            Event::ReadEnd(conn, err) => {
                if let Some(c) = self.conns.remove(&conn) {
                    if let Some(e) = err {
                        tracing::info!(conn = conn.0, error = %e, "read failed");
                    }
                    c.reader.detach();
                    self.driver.closed(conn, now);
                }
                self.writers.retain(|t| !t.is_finished());
            }
            Event::WriteFailed(conn, e) => {
                if self.conns.remove(&conn).is_some() {
                    tracing::info!(conn = conn.0, error = %e, "write failed");
                    self.driver.closed(conn, now);
                }
            }
        }
    }

    fn spawn_conn(&mut self, conn: ConnId, stream: Async<TcpStream>) {
        if let Err(e) = stream.get_ref().set_nodelay(true) {
            tracing::debug!(conn = conn.0, error = %e, "TCP_NODELAY");
        }
        let shared = Rc::new(Shared {
            stream,
            queued: Cell::new(0),
            drained: async_channel::bounded(1),
            closed: async_channel::bounded(1),
        });
        let (writes, rx) = async_channel::unbounded();
        let limit = self.opts.output_limit;
        let reader = self.ex.spawn(read_loop(conn, shared.clone(), limit, self.tx.clone()));
        self.writers.push(self.ex.spawn(write_loop(conn, shared.clone(), rx, limit, self.tx.clone())));
        self.conns.insert(conn, Conn { shared, writes, reader });
    }

    fn outputs(&mut self) {
        while let Some(out) = self.driver.poll_output() {
            match out {
                Output::Transmit { conn, data } => {
                    if let Some(c) = self.conns.get(&conn) {
                        c.shared.queued.set(c.shared.queued.get() + data.len());
                        // A closed channel means the writer failed; its
                        // WriteFailed event is on its way.
                        let _ = c.writes.try_send(data);
                    }
                }
                // The writer flushes and closes; the reader then lingers
                // (input for a forgotten id is ignored).
                Output::Close { conn } => {
                    if let Some(c) = self.conns.remove(&conn) {
                        c.reader.detach();
                    }
                    self.writers.retain(|t| !t.is_finished());
                }
                Output::UserTimer { key } => tracing::debug!(key, "user timer with no owner"),
                // Storage runs on this thread for now.
                Output::Io(req) => self.driver.io_done(req.run(), Instant::now()),
            }
        }
    }

    /// Stops reading, lets the writers flush (bounded by the grace period)
    /// and closes everything.
    async fn shut_down(&mut self) {
        // Dropping the readers' tasks cancels them.
        self.conns.clear();
        let writers = std::mem::take(&mut self.writers);
        let left = writers.len();
        let all = async {
            for w in writers {
                w.await;
            }
            true
        };
        let flushed = future::or(all, async {
            Timer::after(self.opts.shutdown_grace).await;
            false
        });
        if !flushed.await {
            tracing::warn!(left, "closing connections with replies still queued");
        }
    }
}

fn flush_recording(driver: &mut Driver, file: &mut Option<File>) {
    if let (Some(f), Some(data)) = (file.as_mut(), driver.take_recording()) {
        if let Err(e) = f.write_all(&data).and_then(|()| f.flush()) {
            tracing::error!(error = %e, "writing the recording failed; recording stops");
            *file = None;
        }
    }
}

async fn accept_loop(listener: Async<TcpListener>, protocol: Protocol, events: Sender<Event>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                if events.send(Event::Accepted(protocol, stream, peer)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(?protocol, error = %e, "accept failed");
                Timer::after(ACCEPT_BACKOFF).await;
            }
        }
    }
}

async fn read_loop(conn: ConnId, shared: Rc<Shared>, limit: usize, events: Sender<Event>) {
    let reading = async {
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            while shared.queued.get() > limit {
                let _ = shared.drained.1.recv().await;
            }
            let ev = match (&shared.stream).read(&mut buf).await {
                Ok(0) => Event::ReadEnd(conn, None),
                Ok(n) => Event::Input(conn, Bytes::copy_from_slice(buf.get(..n).unwrap_or_default())),
                Err(e) => Event::ReadEnd(conn, Some(e)),
            };
            let end = matches!(ev, Event::ReadEnd(..));
            if events.send(ev).await.is_err() || end {
                return false;
            }
        }
    };
    let closed = async { shared.closed.1.recv().await.is_ok() };
    if future::or(reading, closed).await {
        linger(&shared.stream).await;
    }
}

/// After our side is closed, reads and discards what the peer still sends
/// until it closes too (or [`LINGER`] passes): closing a socket with unread
/// input resets the connection, which can destroy replies still in flight.
async fn linger(stream: &Async<TcpStream>) {
    let drain = async {
        let mut sink = [0u8; 4096];
        while let Ok(1..) = { stream }.read(&mut sink).await {}
    };
    let timeout = async {
        Timer::after(LINGER).await;
    };
    future::or(drain, timeout).await;
}

async fn write_loop(conn: ConnId, shared: Rc<Shared>, rx: Receiver<Bytes>, limit: usize, events: Sender<Event>) {
    let mut w = BufWriter::new(&shared.stream);
    while let Ok(data) = rx.recv().await {
        let mut result = w.write_all(&data).await;
        let mut done = data.len();
        // Batch what is already queued into as few writes as possible.
        while let (Ok(()), Ok(more)) = (&result, rx.try_recv()) {
            result = w.write_all(&more).await;
            done += more.len();
        }
        if let Err(e) = result.and(w.flush().await) {
            let _ = events.send(Event::WriteFailed(conn, e)).await;
            return;
        }
        let before = shared.queued.get();
        shared.queued.set(before - done);
        if before > limit && before - done <= limit {
            let _ = shared.drained.0.try_send(());
        }
    }
    // The core closed the connection (or the peer did, or the server is
    // stopping): everything queued has been written; close our side.
    let _ = shared.stream.get_ref().shutdown(Shutdown::Write);
    let _ = shared.closed.0.try_send(());
}

#[cfg(test)]
mod tests {
    use super::*;
    use polyshare_core::record::{Event, Recorder, Recording};
    use polyshare_core::{Config, MemoryFs, Server};
    use std::time::UNIX_EPOCH;

    // The core's deadline wakes the core task once, at or after the deadline.
    #[test]
    fn sleeps_until_the_core_deadline() {
        let file = std::env::temp_dir().join(format!("polyshare-async-std-timer-{}.psrec", std::process::id()));
        let opts = ServerOptions { nfs: "127.0.0.1:0".parse().ok(), record: Some(file.clone()), ..Default::default() };
        let t0 = Instant::now();
        let mut server = Server::new(Config::default(), Box::new(MemoryFs::new()), 1, t0);
        server.set_user_timer(7, t0 + Duration::from_millis(40));
        let driver = Driver::new(server, Some(Recorder::new(1, UNIX_EPOCH, t0)), 1);
        let listeners = Listeners::bind(opts).unwrap();
        let stop = async {
            Timer::after(Duration::from_millis(300)).await;
        };
        async_io::block_on(serve_driver(listeners, driver, stop)).unwrap();
        let rec = Recording::decode(&std::fs::read(&file).unwrap()).unwrap();
        std::fs::remove_file(&file).unwrap();
        let timeouts: Vec<Duration> =
            rec.events.iter().filter(|(_, e)| *e == Event::Timeout).map(|(t, _)| *t).collect();
        assert_eq!(timeouts.len(), 1, "{timeouts:?}");
        assert!(timeouts[0] >= Duration::from_millis(40), "{timeouts:?}");
    }
}
