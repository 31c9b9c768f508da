//! polyshare on tokio. One task owns the Sans-IO [`Driver`] and is the only
//! one that calls the core; per-connection reader tasks send it what they
//! read over one bounded channel, and per-connection writer tasks send what
//! it produces. Backpressure: the bytes queued for a connection are counted,
//! and its reader stops reading while they exceed
//! [`ServerOptions::output_limit`], so a peer that does not read cannot make
//! the server buffer without bound (and no data is ever dropped).

use std::collections::BTreeMap;
use std::fs::File;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use polyshare_core::{ConnId, Driver, Output, Protocol, Setup, Start};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio::task::{AbortHandle, JoinSet};

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
    smb: Option<TcpListener>,
    nfs: Option<TcpListener>,
    portmap: Option<TcpListener>,
    opts: ServerOptions,
}

impl Listeners {
    pub async fn bind(opts: ServerOptions) -> io::Result<Self> {
        async fn bind(addr: Option<SocketAddr>) -> io::Result<Option<TcpListener>> {
            match addr {
                Some(a) => TcpListener::bind(a).await.map(Some),
                None => Ok(None),
            }
        }
        Ok(Self { smb: bind(opts.smb).await?, nfs: bind(opts.nfs).await?, portmap: bind(opts.portmap).await?, opts })
    }

    pub fn local_addrs(&self) -> BoundAddrs {
        let addr = |l: &Option<TcpListener>| l.as_ref().and_then(|l| l.local_addr().ok());
        BoundAddrs { smb: addr(&self.smb), nfs: addr(&self.nfs), portmap: addr(&self.portmap) }
    }
}

/// Resolves on the first SIGINT or SIGTERM.
pub async fn shutdown_signal() -> io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    Ok(())
}

/// Serves until `shutdown` resolves, then stops accepting, gives queued
/// replies up to [`ServerOptions::shutdown_grace`] to go out, and returns.
/// Must run inside a tokio runtime with IO and time enabled.
pub async fn serve(listeners: Listeners, setup: Setup, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    let record = listeners.opts.record.as_ref().map(File::create).transpose()?;
    let start = Start {
        nfs_port: listeners.local_addrs().nfs.map(|a| a.port()),
        entropy: RandomState::new().hash_one(0u8),
        wall: SystemTime::now(),
        now: Instant::now(),
        record: record.is_some(),
    };
    let driver = setup.start(start);
    tracing::info!(seed = driver.seed(), "server started");
    run(listeners, driver, record, shutdown).await
}

/// [`serve`] with a [`Driver`] the caller built (its own seed, anchor,
/// recorder, or timers set beforehand); the recorder's output goes to
/// [`ServerOptions::record`].
pub async fn serve_driver(listeners: Listeners, driver: Driver, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    let record = listeners.opts.record.as_ref().map(File::create).transpose()?;
    run(listeners, driver, record, shutdown).await
}

async fn run(
    listeners: Listeners,
    driver: Driver,
    mut record: Option<File>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let opts = listeners.opts.clone();
    let (tx, rx) = mpsc::channel(EVENT_QUEUE);
    // JoinSets abort their tasks when dropped, also if `serve` is cancelled.
    let mut accepts = JoinSet::new();
    for (listener, protocol) in
        [(listeners.smb, Protocol::Smb), (listeners.nfs, Protocol::Nfs), (listeners.portmap, Protocol::Nfs)]
    {
        if let Some(l) = listener {
            accepts.spawn(accept_loop(l, protocol, tx.clone()));
        }
    }
    let mut core =
        CoreTask { driver, opts, tx, conns: BTreeMap::new(), readers: JoinSet::new(), writers: JoinSet::new() };
    let result = core.run(rx, shutdown, &mut record).await;
    accepts.abort_all();
    core.shut_down().await;
    flush_recording(&mut core.driver, &mut record);
    result
}

/// What the other tasks tell the core task.
#[derive(Debug)]
enum Event {
    Accepted(Protocol, TcpStream, SocketAddr),
    Input(ConnId, Bytes),
    /// End of stream or a read error.
    ReadEnd(ConnId, Option<io::Error>),
    WriteFailed(ConnId, io::Error),
    /// A storage request ran on the blocking pool.
    IoDone(polyshare_core::IoCompletion),
}

/// Counts the bytes queued for one connection; its reader waits on
/// `drained` while the count exceeds the limit, and lingers once `closed`
/// says the writer has closed our side.
#[derive(Debug, Default)]
struct Queued {
    bytes: AtomicUsize,
    drained: Notify,
    closed: Notify,
}

#[derive(Debug)]
struct Conn {
    queued: Arc<Queued>,
    /// Dropping it lets the writer flush what is queued and close.
    writes: mpsc::UnboundedSender<Bytes>,
    reader: AbortHandle,
}

#[derive(Debug)]
struct CoreTask {
    driver: Driver,
    opts: ServerOptions,
    tx: mpsc::Sender<Event>,
    conns: BTreeMap<ConnId, Conn>,
    /// Readers (including lingering ones) and writers, aborted at shutdown.
    readers: JoinSet<()>,
    writers: JoinSet<()>,
}

impl CoreTask {
    async fn run(
        &mut self,
        mut rx: mpsc::Receiver<Event>,
        shutdown: impl Future<Output = ()>,
        record: &mut Option<File>,
    ) -> io::Result<()> {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(RECORD_INTERVAL);
        loop {
            let deadline = self.driver.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = &mut shutdown => return Ok(()),
                _ = sleep => self.driver.timeout(Instant::now()),
                ev = rx.recv() => match ev {
                    Some(ev) => self.event(ev),
                    None => return Ok(()),
                },
                Some(_) = self.writers.join_next(), if !self.writers.is_empty() => {}
                Some(_) = self.readers.join_next(), if !self.readers.is_empty() => {}
                _ = tick.tick(), if record.is_some() => flush_recording(&mut self.driver, record),
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
                    drop(c.writes);
                    self.driver.closed(conn, now);
                }
            }
            Event::IoDone(c) => self.driver.io_done(c, now),
            Event::WriteFailed(conn, e) => {
                if let Some(c) = self.conns.remove(&conn) {
                    tracing::info!(conn = conn.0, error = %e, "write failed");
                    c.reader.abort();
                    self.driver.closed(conn, now);
                }
            }
        }
    }

    fn spawn_conn(&mut self, conn: ConnId, stream: TcpStream) {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(conn = conn.0, error = %e, "TCP_NODELAY");
        }
        let (read, write) = stream.into_split();
        let queued = Arc::new(Queued::default());
        let (writes, rx) = mpsc::unbounded_channel();
        let limit = self.opts.output_limit;
        let reader = self.readers.spawn(read_loop(conn, read, queued.clone(), limit, self.tx.clone()));
        self.writers.spawn(write_loop(conn, write, rx, queued.clone(), limit, self.tx.clone()));
        self.conns.insert(conn, Conn { queued, writes, reader });
    }

    fn outputs(&mut self) {
        while let Some(out) = self.driver.poll_output() {
            match out {
                Output::Transmit { conn, data } => {
                    if let Some(c) = self.conns.get(&conn) {
                        c.queued.bytes.fetch_add(data.len(), Ordering::AcqRel);
                        // A closed channel means the writer failed; its
                        // WriteFailed event is on its way.
                        let _ = c.writes.send(data);
                    }
                }
                // Dropping the sender lets the writer flush and close; the
                // reader then lingers (input for a forgotten id is ignored).
                Output::Close { conn } => drop(self.conns.remove(&conn)),
                Output::UserTimer { key } => tracing::debug!(key, "user timer with no owner"),
                // Storage blocks: it runs on tokio's blocking pool, never on
                // this task, and its completion comes back as an event.
                Output::Io(req) => {
                    let tx = self.tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let _ = tx.blocking_send(Event::IoDone(req.run()));
                    });
                }
            }
        }
    }

    /// Stops reading, lets the writers flush (bounded by the grace period)
    /// and closes everything.
    async fn shut_down(&mut self) {
        self.conns.clear();
        self.readers.abort_all();
        let flushed =
            tokio::time::timeout(self.opts.shutdown_grace, async { while self.writers.join_next().await.is_some() {} });
        if flushed.await.is_err() {
            tracing::warn!(left = self.writers.len(), "closing connections with replies still queued");
            self.writers.abort_all();
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

async fn accept_loop(listener: TcpListener, protocol: Protocol, events: mpsc::Sender<Event>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                if events.send(Event::Accepted(protocol, stream, peer)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(?protocol, error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

async fn read_loop(
    conn: ConnId,
    mut read: OwnedReadHalf,
    queued: Arc<Queued>,
    limit: usize,
    events: mpsc::Sender<Event>,
) {
    let reading = async {
        let mut buf = BytesMut::new();
        loop {
            while queued.bytes.load(Ordering::Acquire) > limit {
                queued.drained.notified().await;
            }
            buf.reserve(READ_CHUNK);
            let ev = match read.read_buf(&mut buf).await {
                Ok(0) => Event::ReadEnd(conn, None),
                Ok(_) => Event::Input(conn, buf.split().freeze()),
                Err(e) => Event::ReadEnd(conn, Some(e)),
            };
            let end = matches!(ev, Event::ReadEnd(..));
            if events.send(ev).await.is_err() || end {
                return;
            }
        }
    };
    let closed = tokio::select! {
        () = reading => false,
        () = queued.closed.notified() => true,
    };
    if closed {
        linger(read).await;
    }
}

/// After our side is closed, reads and discards what the peer still sends
/// until it closes too (or [`LINGER`] passes): closing a socket with unread
/// input resets the connection, which can destroy replies still in flight.
async fn linger(mut read: OwnedReadHalf) {
    let drain = async {
        let mut sink = [0u8; 4096];
        while let Ok(1..) = read.read(&mut sink).await {}
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

async fn write_loop(
    conn: ConnId,
    write: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Bytes>,
    queued: Arc<Queued>,
    limit: usize,
    events: mpsc::Sender<Event>,
) {
    let mut w = BufWriter::new(write);
    while let Some(data) = rx.recv().await {
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
        let before = queued.bytes.fetch_sub(done, Ordering::AcqRel);
        if before > limit && before - done <= limit {
            queued.drained.notify_one();
        }
    }
    // The core closed the connection (or the peer did, or the server is
    // stopping): everything queued has been written; close our side.
    let _ = w.shutdown().await;
    queued.closed.notify_one();
}

#[cfg(test)]
mod tests {
    use super::*;
    use polyshare_core::record::{Event, Recorder, Recording};
    use polyshare_core::{Config, MemoryFs, Server};
    use std::time::UNIX_EPOCH;

    // The core's deadline wakes the adapter once, at or after the deadline.
    #[test]
    fn sleeps_until_the_core_deadline() {
        let file = std::env::temp_dir().join(format!("polyshare-tokio-timer-{}.psrec", std::process::id()));
        let opts = ServerOptions { nfs: "127.0.0.1:0".parse().ok(), record: Some(file.clone()), ..Default::default() };
        let t0 = Instant::now();
        let mut server = Server::new(Config::default(), Box::new(MemoryFs::new()), 1, t0);
        server.set_user_timer(7, t0 + Duration::from_millis(40));
        let driver = Driver::new(server, Some(Recorder::new(1, UNIX_EPOCH, t0)), 1);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let listeners = Listeners::bind(opts).await?;
            serve_driver(listeners, driver, tokio::time::sleep(Duration::from_millis(300))).await
        })
        .unwrap();
        let rec = Recording::decode(&std::fs::read(&file).unwrap()).unwrap();
        std::fs::remove_file(&file).unwrap();
        let timeouts: Vec<Duration> =
            rec.events.iter().filter(|(_, e)| *e == Event::Timeout).map(|(t, _)| *t).collect();
        assert_eq!(timeouts.len(), 1, "{timeouts:?}");
        assert!(timeouts[0] >= Duration::from_millis(40), "{timeouts:?}");
    }
}
