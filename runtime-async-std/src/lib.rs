//! polyshare on async-io and futures-lite, the pieces async-std was built
//! from and smol is built on: [`serve`] runs under `async_io::block_on`,
//! `smol::block_on` or `async_std::task::block_on` alike. It runs its own
//! single-threaded executor: one task owns the Sans-IO [`Driver`] and is the
//! only one that calls the core; per-connection reader tasks send it what
//! they read over one bounded channel. What it produces is written by the
//! core task itself when the message is small and nothing is queued ahead
//! of it (so messages leave in the core's order, see [`Outbox`]), and by
//! per-connection writer tasks otherwise; a READ reply a storage worker
//! framed is written by that worker ([`Outbox::send_now`]). Backpressure: while more than
//! [`ServerOptions::output_limit`] bytes are queued for a connection its
//! reader stops reading, so a peer that does not read cannot make the server
//! buffer without bound (and no data is ever dropped).

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{self, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Instant;

use async_channel::{Receiver, Sender};
use async_executor::{LocalExecutor, Task};
use async_io::{Async, Timer};
use bytes::Bytes;
use futures_lite::future;
use futures_lite::io::AsyncReadExt;
use polyshare_core::{ConnId, Driver, IoRequest, Protocol, Setup};
use polyshare_runtime::{
    ACCEPT_BACKOFF, Connections, EVENT_QUEUE, FdSocket, LINGER, Outbox, Outputs, READ_CHUNK, ReadFramer, RecordSink,
    WorkerPool, bind_listeners, deliver, dispatch_outputs, handle_event, shutdown_write,
};

pub use polyshare_runtime::{BoundAddrs, ServerOptions};

type Event = polyshare_runtime::Event<Async<TcpStream>>;

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
        let (listeners, addrs) = bind_listeners(&opts, |addr| {
            let l = Async::<TcpListener>::bind(addr)?;
            let at = l.get_ref().local_addr()?;
            Ok((l, at))
        })?;
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
    let (driver, record) = polyshare_runtime::start(setup, &listeners.opts, &listeners.addrs)?;
    let ex = LocalExecutor::new();
    ex.run(run(&ex, listeners, driver, record, shutdown)).await
}

/// [`serve`] with a [`Driver`] the caller built (its own seed, anchor,
/// recorder, or timers set beforehand); the recorder's output goes to
/// [`ServerOptions::record`].
pub async fn serve_driver(listeners: Listeners, driver: Driver, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    let record = RecordSink::open(listeners.opts.record.as_deref())?;
    let ex = LocalExecutor::new();
    ex.run(run(&ex, listeners, driver, record, shutdown)).await
}

async fn run(
    ex: &LocalExecutor<'_>,
    listeners: Listeners,
    driver: Driver,
    record: RecordSink,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let Listeners { listeners, addrs: _, opts } = listeners;
    let (tx, rx) = async_channel::bounded(EVENT_QUEUE);
    let accepts: Vec<Task<()>> =
        listeners.into_iter().map(|(l, protocol)| ex.spawn(accept_loop(l, protocol, tx.clone()))).collect();
    let pool = WorkerPool::new(opts.io_workers);
    let max_frame = driver.server().config().limits.max_frame;
    let pipes = driver.server().pipe_pool();
    let limit = opts.output_limit;
    let conns = ConnTable { ex, tx, pool, limit, max_frame, pipes, conns: BTreeMap::new(), writers: Vec::new() };
    let mut core = CoreTask { driver, record, opts, conns };
    let result = core.run(rx, shutdown).await;
    drop(accepts);
    core.shut_down().await;
    core.record.flush(&mut core.driver);
    result
}

/// Shared by one connection's tasks (all on one thread) and the storage
/// workers that write READ replies (`Outbox::send_now`).
#[derive(Debug)]
struct Shared {
    stream: Async<TcpStream>,
    outbox: Outbox,
}

#[derive(Debug)]
struct Conn {
    shared: Arc<Shared>,
    /// Dropping it stops the reader; detached (`None`) to let it linger.
    reader: Option<Task<()>>,
}

impl Conn {
    /// Lets the reader run on (lingering) after the connection is dropped.
    fn detach_reader(&mut self) {
        if let Some(r) = self.reader.take() {
            r.detach();
        }
    }
}

/// Dropping a connection lets its writer flush what is queued and close.
impl Drop for Conn {
    fn drop(&mut self) {
        self.shared.outbox.close();
    }
}

/// Phases of the core loop, first ready first.
enum Step {
    Shutdown,
    Timeout,
    Event(Option<Event>),
    RecordTick,
}

/// The connections the core knows, and their tasks.
struct ConnTable<'a, 'ex> {
    ex: &'a LocalExecutor<'ex>,
    tx: Sender<Event>,
    /// Runs storage requests; completions come back as events.
    pool: WorkerPool,
    limit: usize,
    /// The core's largest message, for the readers' framers.
    max_frame: usize,
    /// The core's pipes, which the readers receive large WRITEs into.
    pipes: Arc<polyshare_core::splice::PipePool>,
    conns: BTreeMap<ConnId, Conn>,
    /// Writers outlive their connection while they flush.
    writers: Vec<Task<()>>,
}

struct CoreTask<'a, 'ex> {
    driver: Driver,
    record: RecordSink,
    opts: ServerOptions,
    conns: ConnTable<'a, 'ex>,
}

impl CoreTask<'_, '_> {
    async fn run(&mut self, rx: Receiver<Event>, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let timer = self.driver.poll_timeout().map_or_else(Timer::never, Timer::at);
            let tick = self.record.next_flush().map_or_else(Timer::never, Timer::at);
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
                Step::Timeout => self.driver.handle_timeout(Instant::now()),
                Step::Event(Some(ev)) => handle_event(&mut self.driver, &mut self.conns, ev),
                // `after_turn` flushes.
                Step::RecordTick => {}
            }
            dispatch_outputs(&mut self.driver, &mut self.conns);
            self.record.after_turn(&mut self.driver, Instant::now());
        }
    }

    /// Stops reading, lets the writers flush (bounded by the grace period)
    /// and closes everything.
    async fn shut_down(&mut self) {
        // Dropping the readers' tasks cancels them.
        self.conns.conns.clear();
        let writers = std::mem::take(&mut self.conns.writers);
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

impl Outputs for ConnTable<'_, '_> {
    fn transmit(&mut self, conn: ConnId, data: Bytes) {
        if let Some(c) = self.conns.get(&conn) {
            // A write error here shows again in the writer, which reports
            // it (WriteFailed).
            c.shared.outbox.transmit(data, |bufs| c.shared.stream.get_ref().write_vectored(bufs));
        }
    }

    // The writer flushes and closes; the reader then lingers.
    fn close(&mut self, conn: ConnId) {
        if let Some(mut c) = self.conns.remove(&conn) {
            c.detach_reader();
        }
        self.writers.retain(|t| !t.is_finished());
    }

    fn storage(&mut self, req: IoRequest) {
        let tx = self.tx.clone();
        let deliver = move |c| {
            let _ = tx.send_blocking(Event::IoDone(c));
        };
        match self.conns.get(&req.conn()) {
            // A reply the worker framed leaves from the worker.
            Some(c) => {
                let shared = c.shared.clone();
                let send = move |reply| shared.outbox.send_reply(reply, &FdSocket(shared.stream.get_ref()));
                self.pool.storage_sending(req, send, deliver);
            }
            None => self.pool.storage(req, deliver),
        }
    }
}

impl Connections for ConnTable<'_, '_> {
    type Stream = Async<TcpStream>;

    fn open(&mut self, conn: ConnId, protocol: Protocol, stream: Async<TcpStream>) {
        if let Err(e) = stream.get_ref().set_nodelay(true) {
            tracing::debug!(conn = conn.0, error = %e, "TCP_NODELAY");
        }
        let shared = Arc::new(Shared { stream, outbox: Outbox::new(self.limit) });
        let framer = ReadFramer::new(conn, protocol, self.max_frame).with_pipes(self.pipes.clone());
        let reader = self.ex.spawn(read_loop(shared.clone(), framer, self.tx.clone()));
        self.writers.push(self.ex.spawn(write_loop(conn, shared.clone(), self.tx.clone())));
        self.conns.insert(conn, Conn { shared, reader: Some(reader) });
    }

    fn is_open(&self, conn: ConnId) -> bool {
        self.conns.contains_key(&conn)
    }

    fn read_ended(&mut self, conn: ConnId) -> bool {
        let known = self.conns.remove(&conn).map(|mut c| c.detach_reader()).is_some();
        self.writers.retain(|t| !t.is_finished());
        known
    }

    // Dropping the reader's task stops it.
    fn write_failed(&mut self, conn: ConnId) -> bool {
        self.conns.remove(&conn).is_some()
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

async fn read_loop(shared: Arc<Shared>, mut framer: ReadFramer, events: Sender<Event>) {
    let reading = async {
        // async-io reads into initialised memory: read into this buffer,
        // then the framer copies it once (see ReadFramer::push). A large
        // WRITE's data is spliced from the socket into pipes instead.
        let mut buf = vec![0u8; READ_CHUNK];
        let mut out = Vec::new();
        loop {
            shared.outbox.queued().room().await;
            let read = match framer.inflow() {
                Some(inflow) => shared.stream.read_with(|s| inflow.splice_from(s.as_fd())).await,
                None => {
                    let limit = framer.read_limit().min(buf.len());
                    let read = (&shared.stream).read(&mut buf[..limit]).await;
                    if let Ok(n) = read {
                        framer.push(buf.get(..n).unwrap_or_default());
                    }
                    read
                }
            };
            framer.after_read(read, &mut out);
            if !deliver(&mut out, |ev| async { events.send(ev).await.is_ok() }).await {
                return false;
            }
        }
    };
    let closed = async {
        shared.outbox.queued().closed().await;
        true
    };
    if future::or(reading, closed).await {
        // Read and discard until the peer closes too (see LINGER).
        let drain = async {
            let mut sink = [0u8; 4096];
            while let Ok(1..) = (&shared.stream).read(&mut sink).await {}
        };
        future::or(drain, async {
            Timer::after(LINGER).await;
        })
        .await;
    }
}

/// Writes what the core task queued for the connection (see [`Outbox`]),
/// as vectored writes of whole batches.
async fn write_loop(conn: ConnId, shared: Arc<Shared>, events: Sender<Event>) {
    while let Some(mut batch) = shared.outbox.next_batch().await {
        while !batch.is_empty() {
            match shared.stream.write_with(|s| batch.write_to(&FdSocket(s))).await {
                Ok(n) => {
                    shared.outbox.written(n);
                    // Other tasks run between writes (see WRITE_SLICE_MAX).
                    if !batch.is_empty() {
                        future::yield_now().await;
                    }
                }
                Err(e) => {
                    let _ = events.send(Event::WriteFailed(conn, e)).await;
                    return;
                }
            }
        }
    }
    // The core closed the connection (or the peer did, or the server is
    // stopping): everything queued has been written; close our side.
    shutdown_write(shared.stream.get_ref());
    shared.outbox.queued().writer_closed();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_until_the_core_deadline() {
        polyshare_runtime::testing::sleeps_until_the_core_deadline("async-std", |opts, driver, run_for| {
            let listeners = Listeners::bind(opts)?;
            let stop = async {
                Timer::after(run_for).await;
            };
            async_io::block_on(serve_driver(listeners, driver, stop))
        });
    }
}
