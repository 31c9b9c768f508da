//! polyshare on tokio. One task owns the Sans-IO [`Driver`] and is the only
//! one that calls the core; per-connection reader tasks send it what they
//! read over one bounded channel. What it produces is written by the core
//! task itself when the message is small and nothing is queued ahead of it
//! (so messages leave in the core's order, see [`Outbox`]), and by
//! per-connection writer tasks otherwise; a READ reply a storage worker
//! framed is written by that worker ([`Outbox::send_now`]). Backpressure: the bytes queued for a connection are counted,
//! and its reader stops reading while they exceed
//! [`ServerOptions::output_limit`], so a peer that does not read cannot make
//! the server buffer without bound (and no data is ever dropped). What is not
//! tokio-specific is in `polyshare-runtime`.
//!
//! Where to run [`serve`]: spawned on a multi-thread runtime made by
//! [`runtime_builder`], as the example and `polyshare serve` do. A reader
//! then hands the core task its message on the reader's own thread, instead
//! of waking a thread kept for the core (`block_on`). A storage completion
//! wakes the core from a worker thread outside the runtime, which tokio
//! queues in its global queue; the builder has the runtime's workers look
//! there every 4 tasks instead of every 31, or four concurrent readers lost
//! throughput in some rounds. Measured against `block_on` on one build
//! (BENCHMARKS.md, eleventh session): p99 of an SMB ECHO while another
//! client streams reads 5,557 and 5,109 µs against 5,654 and 5,795; of a
//! lease-break acknowledgment's NFS reply 4,825 and 4,697 against 5,602
//! and 5,949; idle NFS NULL median 96–101 µs against 157–170.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use std::os::fd::AsFd;

use bytes::{BufMut, Bytes};
use polyshare_core::{ConnId, Driver, IoRequest, Protocol, Setup};
use polyshare_runtime::{
    ACCEPT_BACKOFF, Connections, EVENT_QUEUE, FdSocket, LINGER, Outbox, Outputs, ReadFramer, RecordSink, WorkerPool,
    WorkerSocket, WriteQueue, deliver, dispatch_outputs, handle_control, handle_event, shutdown_write,
};
use tokio::io::Interest;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};

pub use polyshare_runtime::{BoundAddrs, Control, Inspect, ServerOptions};

type Event = polyshare_runtime::Event<TcpStream>;

/// Listening sockets, bound before the server is built so that the NFS port
/// the portmapper reports is the real one.
#[derive(Debug)]
pub struct Listeners {
    smb: Option<TcpListener>,
    nfs: Option<TcpListener>,
    portmap: Option<TcpListener>,
    also: Vec<(TcpListener, Protocol)>,
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
        let mut also = Vec::new();
        for &(addr, protocol) in &opts.also {
            also.push((TcpListener::bind(addr).await?, protocol));
        }
        Ok(Self {
            smb: bind(opts.smb).await?,
            nfs: bind(opts.nfs).await?,
            portmap: bind(opts.portmap).await?,
            also,
            opts,
        })
    }

    pub fn local_addrs(&self) -> BoundAddrs {
        let addr = |l: &Option<TcpListener>| l.as_ref().and_then(|l| l.local_addr().ok());
        BoundAddrs { smb: addr(&self.smb), nfs: addr(&self.nfs), portmap: addr(&self.portmap) }
    }
}

/// How often a runtime worker looks in tokio's global queue (every this
/// many tasks; tokio's default is 31): storage completions wake the core
/// task from outside the runtime, and land there.
pub const GLOBAL_QUEUE_INTERVAL: u32 = 4;

/// A multi-thread runtime builder for [`serve`] (IO and timers enabled, the
/// global queue checked every [`GLOBAL_QUEUE_INTERVAL`] tasks); the caller
/// sets the worker count and spawns `serve` on it (see the crate
/// documentation).
pub fn runtime_builder() -> tokio::runtime::Builder {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.enable_all().global_queue_interval(GLOBAL_QUEUE_INTERVAL);
    b
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
    serve_controlled(listeners, setup, shutdown, mpsc::channel(1).1).await
}

/// [`serve`], also taking [`Control`] commands (a reload) from `control`,
/// each fed to the core in the loop that feeds it everything else.
pub async fn serve_controlled(
    listeners: Listeners,
    setup: Setup,
    shutdown: impl Future<Output = ()>,
    control: mpsc::Receiver<Control>,
) -> io::Result<()> {
    let (driver, record) = polyshare_runtime::start(setup, &listeners.opts, &listeners.local_addrs())?;
    run(listeners, driver, record, shutdown, control).await
}

/// [`serve`] with a [`Driver`] the caller built (its own seed, anchor,
/// recorder, or timers set beforehand); the recorder's output goes to
/// [`ServerOptions::record`].
pub async fn serve_driver(listeners: Listeners, driver: Driver, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    let record = RecordSink::open(listeners.opts.record.as_deref())?;
    run(listeners, driver, record, shutdown, mpsc::channel(1).1).await
}

async fn run(
    listeners: Listeners,
    driver: Driver,
    record: RecordSink,
    shutdown: impl Future<Output = ()>,
    control: mpsc::Receiver<Control>,
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
    for (l, protocol) in listeners.also {
        accepts.spawn(accept_loop(l, protocol, tx.clone()));
    }
    let conns = ConnTable {
        tx,
        pool: WorkerPool::new(opts.io_workers),
        max_frame: driver.server().config().limits.max_frame,
        pipes: driver.server().pipe_pool(),
        limit: opts.output_limit,
        conns: BTreeMap::new(),
        readers: JoinSet::new(),
        writers: JoinSet::new(),
    };
    let mut core = CoreTask { driver, record, opts, conns };
    let result = core.run(rx, control, shutdown).await;
    accepts.abort_all();
    core.shut_down().await;
    core.record.flush(&mut core.driver);
    result
}

#[derive(Debug)]
struct Conn {
    stream: Arc<TcpStream>,
    outbox: Arc<Outbox>,
    reader: AbortHandle,
}

/// Dropping a connection lets its writer flush what is queued and close.
impl Drop for Conn {
    fn drop(&mut self) {
        self.outbox.close();
    }
}

/// The connections the core knows, and their tasks.
#[derive(Debug)]
struct ConnTable {
    tx: mpsc::Sender<Event>,
    /// Runs storage requests; completions come back as events.
    pool: WorkerPool,
    /// The core's largest message, for the readers' framers.
    max_frame: usize,
    /// The core's pipes, which the readers receive large WRITEs into.
    pipes: Arc<polyshare_core::splice::PipePool>,
    limit: usize,
    conns: BTreeMap<ConnId, Conn>,
    /// Readers (including lingering ones) and writers, aborted at shutdown.
    readers: JoinSet<()>,
    writers: JoinSet<()>,
}

#[derive(Debug)]
struct CoreTask {
    driver: Driver,
    record: RecordSink,
    opts: ServerOptions,
    conns: ConnTable,
}

impl CoreTask {
    async fn run(
        &mut self,
        mut rx: mpsc::Receiver<Event>,
        mut control: mpsc::Receiver<Control>,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        tokio::pin!(shutdown);
        let sleep_until = |at: Option<Instant>| async move {
            match at {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        loop {
            tokio::select! {
                biased;
                _ = &mut shutdown => return Ok(()),
                _ = sleep_until(self.driver.poll_timeout()) => self.driver.handle_timeout(Instant::now()),
                ev = rx.recv() => match ev {
                    Some(ev) => handle_event(&mut self.driver, &mut self.conns, ev),
                    None => return Ok(()),
                },
                Some(c) = control.recv() => handle_control(&mut self.driver, c, Instant::now()),
                Some(_) = self.conns.writers.join_next(), if !self.conns.writers.is_empty() => {}
                Some(_) = self.conns.readers.join_next(), if !self.conns.readers.is_empty() => {}
                // `after_turn` flushes the recording.
                _ = sleep_until(self.record.next_flush()) => {}
            }
            dispatch_outputs(&mut self.driver, &mut self.conns);
            self.record.after_turn(&mut self.driver, Instant::now());
        }
    }

    /// Stops reading, lets the writers flush (bounded by the grace period)
    /// and closes everything.
    async fn shut_down(&mut self) {
        self.conns.conns.clear();
        self.conns.readers.abort_all();
        let writers = &mut self.conns.writers;
        let flushed =
            tokio::time::timeout(self.opts.shutdown_grace, async { while writers.join_next().await.is_some() {} });
        if flushed.await.is_err() {
            tracing::warn!(left = writers.len(), "closing connections with replies still queued");
            writers.abort_all();
        }
    }
}

impl Outputs for ConnTable {
    fn transmit(&mut self, conn: ConnId, data: Bytes) {
        if let Some(c) = self.conns.get(&conn) {
            // A write error here shows again in the writer, which reports
            // it (WriteFailed).
            c.outbox.transmit(data, |bufs| c.stream.try_write_vectored(bufs));
        }
    }

    // Dropping the sender lets the writer flush and close; the reader then
    // lingers.
    fn close(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
    }

    fn storage(&mut self, req: IoRequest) {
        let tx = self.tx.clone();
        let deliver = move |c| {
            let _ = tx.blocking_send(Event::IoDone(c));
        };
        match self.conns.get(&req.conn()) {
            // A reply the worker framed leaves from the worker.
            Some(c) => {
                let (stream, outbox) = (c.stream.clone(), c.outbox.clone());
                let send = move |reply| outbox.send_reply(reply, &Socket(&stream));
                self.pool.storage_sending(req, send, deliver);
            }
            None => self.pool.storage(req, deliver),
        }
    }
}

impl Connections for ConnTable {
    type Stream = TcpStream;

    fn open(&mut self, conn: ConnId, protocol: Protocol, stream: TcpStream) {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(conn = conn.0, error = %e, "TCP_NODELAY");
        }
        let stream = Arc::new(stream);
        let outbox = Arc::new(Outbox::new(self.limit));
        let framer = ReadFramer::new(conn, protocol, self.max_frame).with_pipes(self.pipes.clone());
        let reader = self.readers.spawn(read_loop(stream.clone(), framer, outbox.clone(), self.tx.clone()));
        self.writers.spawn(write_loop(conn, stream.clone(), outbox.clone(), self.tx.clone()));
        self.conns.insert(conn, Conn { stream, outbox, reader });
    }

    fn is_open(&self, conn: ConnId) -> bool {
        self.conns.contains_key(&conn)
    }

    fn read_ended(&mut self, conn: ConnId) -> bool {
        self.conns.remove(&conn).is_some()
    }

    fn write_failed(&mut self, conn: ConnId) -> bool {
        self.conns.remove(&conn).map(|c| c.reader.abort()).is_some()
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

/// One read into `framer`'s buffer, waiting until the socket has input.
/// A large WRITE's data being received into pipes
/// ([`ReadFramer::inflow`]) is spliced from the socket instead, inside
/// `try_io`, so an empty socket clears tokio's readiness.
async fn read_some(stream: &TcpStream, framer: &mut ReadFramer) -> io::Result<usize> {
    loop {
        stream.readable().await?;
        let read = match framer.inflow() {
            Some(inflow) => stream.try_io(Interest::READABLE, || inflow.splice_from(stream.as_fd())),
            None => {
                let limit = framer.read_limit();
                stream.try_read_buf(&mut framer.buf().limit(limit))
            }
        };
        match read {
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
            read => return read,
        }
    }
}

async fn read_loop(stream: Arc<TcpStream>, mut framer: ReadFramer, outbox: Arc<Outbox>, events: mpsc::Sender<Event>) {
    let queued = outbox.queued();
    let reading = async {
        let mut out = Vec::new();
        loop {
            queued.room().await;
            // Whole messages are framed here, on this task's thread, and
            // the core gets them without copying.
            let read = read_some(&stream, &mut framer).await;
            framer.after_read(read, &mut out);
            if !deliver(&mut out, |ev| async { events.send(ev).await.is_ok() }).await {
                return;
            }
        }
    };
    let closed = tokio::select! {
        () = reading => false,
        () = queued.closed() => true,
    };
    if closed {
        // Read and discard until the peer closes too (see LINGER).
        let drain = async {
            let mut sink = [0u8; 4096];
            loop {
                if stream.readable().await.is_err() {
                    return;
                }
                match stream.try_read(&mut sink) {
                    Ok(1..) => {}
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                    _ => return,
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drain).await;
    }
}

/// Writes what the core task queued for the connection (see [`Outbox`]),
/// as vectored writes of whole batches.
async fn write_loop(conn: ConnId, stream: Arc<TcpStream>, outbox: Arc<Outbox>, events: mpsc::Sender<Event>) {
    while let Some(batch) = outbox.next_batch().await {
        if let Err(e) = write_batch(&stream, &outbox, batch).await {
            let _ = events.send(Event::WriteFailed(conn, e)).await;
            return;
        }
    }
    // The core closed the connection (or the peer did, or the server is
    // stopping): everything queued has been written; close our side.
    shutdown_write(&*stream);
    outbox.queued().writer_closed();
}

/// Writes all of `batch`, waiting while the socket is full, and letting
/// the runtime run other tasks between writes (see `WRITE_SLICE_MAX`).
async fn write_batch(stream: &TcpStream, outbox: &Outbox, mut batch: WriteQueue) -> io::Result<()> {
    while !batch.is_empty() {
        match batch.write_to(&Socket(stream)) {
            Ok(n) => {
                outbox.written(n);
                if !batch.is_empty() {
                    tokio::task::yield_now().await;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => stream.writable().await?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A connection's socket as its output is written: each attempt
/// runs inside `try_io`, so a full socket clears tokio's readiness and the
/// writer task waits for it again.
struct Socket<'a>(&'a TcpStream);

impl WorkerSocket for Socket<'_> {
    fn write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }

    fn splice_from(&self, pipe: std::os::fd::BorrowedFd<'_>, len: usize) -> io::Result<usize> {
        self.0.try_io(tokio::io::Interest::WRITABLE, || FdSocket(self.0).splice_from(pipe, len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_until_the_core_deadline() {
        polyshare_runtime::testing::sleeps_until_the_core_deadline("tokio", |opts, driver, run_for| {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(async {
                let listeners = Listeners::bind(opts).await?;
                serve_driver(listeners, driver, tokio::time::sleep(run_for)).await
            })
        });
    }
}
