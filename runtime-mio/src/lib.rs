//! polyshare on mio: one thread, one `Poll`, the Sans-IO [`Driver`] called
//! directly from the event loop. The poll timeout is the core's next
//! deadline. Each connection has a write queue, which the loop writes, and
//! to which a storage worker writes the READ reply it framed
//! (`Outbox::send_now`); while it holds more than
//! [`ServerOptions::output_limit`] bytes the connection is not read (its
//! input waits in the kernel, and TCP flow control slows the peer), so a peer
//! that does not read cannot make the server buffer without bound.

mod conn;

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use mio::net::{TcpListener, UnixStream};
use mio::{Events, Interest, Poll, Token, Waker};
use polyshare_core::{ConnId, Driver, IoCompletion, IoRequest, Protocol, Setup};
use polyshare_runtime::{
    ACCEPT_BACKOFF, FdSocket, Outputs, READ_CHUNK, RecordSink, WorkerPool, bind_listeners, dispatch_outputs,
};

use conn::{Conn, Flushed};
pub use polyshare_runtime::{BoundAddrs, ServerOptions};

const STOP: Token = Token(0);
/// Wakes the loop when a storage request has completed.
const IO_DONE: Token = Token(4);
/// Listener tokens are 1..=3; connection `n` is token `n + CONN_TOKEN_BASE`.
const CONN_TOKEN_BASE: usize = 16;

/// Listening sockets and the stop pipe, made before the server is built so
/// that the NFS port the portmapper reports is the real one.
#[derive(Debug)]
pub struct Listeners {
    listeners: Vec<(TcpListener, Protocol)>,
    addrs: BoundAddrs,
    opts: ServerOptions,
    stop_rx: UnixStream,
    stopper: Stopper,
}

impl Listeners {
    pub fn bind(opts: ServerOptions) -> io::Result<Self> {
        let (listeners, addrs) = bind_listeners(&opts, |addr| {
            let l = TcpListener::bind(addr)?;
            let at = l.local_addr()?;
            Ok((l, at))
        })?;
        let (rx, tx) = StdUnixStream::pair()?;
        rx.set_nonblocking(true)?;
        tx.set_nonblocking(true)?;
        let stopper = Stopper(Arc::new(tx));
        Ok(Self { listeners, addrs, opts, stop_rx: UnixStream::from_std(rx), stopper })
    }

    pub fn local_addrs(&self) -> BoundAddrs {
        self.addrs
    }

    /// A handle that makes [`serve`] shut down gracefully.
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }
}

/// Stops a running [`serve`] from any thread (or from a signal).
#[derive(Debug, Clone)]
pub struct Stopper(Arc<StdUnixStream>);

impl Stopper {
    pub fn stop(&self) {
        // A full pipe already holds a stop request.
        let _ = (&*self.0).write(&[1]);
    }

    /// Stop on SIGINT and SIGTERM (the handlers write to the stop pipe).
    pub fn stop_on_signals(&self) -> io::Result<()> {
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::low_level::pipe::register(sig, self.0.try_clone()?)?;
        }
        Ok(())
    }
}

/// Serves on the calling thread until stopped through a [`Stopper`], then
/// stops accepting, gives queued replies up to
/// [`ServerOptions::shutdown_grace`] to go out, and returns.
pub fn serve(listeners: Listeners, setup: Setup) -> io::Result<()> {
    let (driver, record) = polyshare_runtime::start(setup, &listeners.opts, &listeners.addrs)?;
    run(listeners, driver, record)
}

/// [`serve`] with a [`Driver`] the caller built (its own seed, anchor,
/// recorder, or timers set beforehand); the recorder's output goes to
/// [`ServerOptions::record`].
pub fn serve_driver(listeners: Listeners, driver: Driver) -> io::Result<()> {
    let record = RecordSink::open(listeners.opts.record.as_deref())?;
    run(listeners, driver, record)
}

fn run(listeners: Listeners, driver: Driver, record: RecordSink) -> io::Result<()> {
    let Listeners { listeners, addrs: _, opts, mut stop_rx, stopper: _ } = listeners;
    let poll = Poll::new()?;
    poll.registry().register(&mut stop_rx, STOP, Interest::READABLE)?;
    let mut accepting = BTreeMap::new();
    for (i, (mut l, protocol)) in listeners.into_iter().enumerate() {
        let token = Token(1 + i);
        poll.registry().register(&mut l, token, Interest::READABLE)?;
        accepting.insert(token, (l, protocol));
    }
    let waker = Arc::new(Waker::new(poll.registry(), IO_DONE)?);
    let (io_tx, io_rx) = std::sync::mpsc::channel();
    let storage = Storage { pool: WorkerPool::new(opts.io_workers), done: io_tx, waker };
    let mut lp = Loop {
        poll,
        driver,
        storage,
        io_rx,
        opts,
        accepting,
        accept_retry: None,
        conns: BTreeMap::new(),
        rbuf: vec![0; READ_CHUNK],
        record,
        stopping: None,
    };
    let result = lp.run(&mut stop_rx);
    lp.record.flush(&mut lp.driver);
    result
}

#[derive(Debug)]
struct Loop {
    poll: Poll,
    driver: Driver,
    storage: Storage,
    /// Completions of storage requests, announced by [`IO_DONE`].
    io_rx: std::sync::mpsc::Receiver<IoCompletion>,
    opts: ServerOptions,
    accepting: BTreeMap<Token, (TcpListener, Protocol)>,
    /// When to retry accepting after an accept error.
    accept_retry: Option<Instant>,
    conns: BTreeMap<ConnId, Conn>,
    /// One read buffer for every connection.
    rbuf: Vec<u8>,
    record: RecordSink,
    /// Set once a stop was requested: the instant the grace period ends.
    stopping: Option<Instant>,
}

impl Loop {
    fn run(&mut self, stop_rx: &mut UnixStream) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self.next_wakeup().map(|t| t.saturating_duration_since(Instant::now()));
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            for ev in events.iter() {
                match ev.token() {
                    STOP => self.stop(stop_rx, now),
                    IO_DONE => {}
                    t if t.0 >= CONN_TOKEN_BASE => {
                        let id = ConnId((t.0 - CONN_TOKEN_BASE) as u64);
                        if let Some(c) = self.conns.get_mut(&id) {
                            c.readable |= ev.is_readable() || ev.is_read_closed() || ev.is_error();
                            if ev.is_writable() || ev.is_error() {
                                c.set_writable();
                            }
                        }
                    }
                    t => self.accept(t, now),
                }
            }
            if self.accept_retry.is_some_and(|t| t <= now) {
                self.accept_retry = None;
                let tokens: Vec<Token> = self.accepting.keys().copied().collect();
                tokens.into_iter().for_each(|t| self.accept(t, now));
            }
            if self.stopping.is_none() && self.driver.poll_timeout().is_some_and(|t| t <= now) {
                self.driver.handle_timeout(now);
            }
            while let Ok(c) = self.io_rx.try_recv() {
                self.driver.handle_io(c, now);
            }
            self.read_ready(now);
            self.outputs();
            self.write_and_close(now);
            self.record.after_turn(&mut self.driver, now);
            if let Some(end) = self.stopping {
                if self.conns.values().all(Conn::flushed) || now >= end {
                    return Ok(());
                }
            }
        }
    }

    /// The earliest instant the loop has something to do without an event.
    fn next_wakeup(&self) -> Option<Instant> {
        let now = Instant::now();
        if self.conns.values().any(|c| c.wants_read()) {
            return Some(now);
        }
        let lingers = self.conns.values().filter_map(|c| c.linger_until);
        let record = self.record.next_flush();
        let core = if self.stopping.is_none() { self.driver.poll_timeout() } else { None };
        [core, self.accept_retry, self.stopping, record].into_iter().flatten().chain(lingers).min()
    }

    fn stop(&mut self, stop_rx: &mut UnixStream, now: Instant) {
        let mut sink = [0u8; 64];
        while let Ok(1..) = stop_rx.read(&mut sink) {}
        if self.stopping.is_some() {
            return;
        }
        tracing::info!("shutting down");
        self.stopping = Some(now + self.opts.shutdown_grace);
        for (_, (mut l, _)) in std::mem::take(&mut self.accepting) {
            let _ = self.poll.registry().deregister(&mut l);
        }
        // The core is done: from here on, queued replies go out and input is
        // discarded.
        for c in self.conns.values_mut() {
            c.core_live = false;
        }
    }

    fn accept(&mut self, token: Token, now: Instant) {
        let Some((listener, protocol)) = self.accepting.get(&token) else { return };
        loop {
            let (mut stream, peer) = match listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(?protocol, error = %e, "accept failed");
                    self.accept_retry = Some(now + ACCEPT_BACKOFF);
                    return;
                }
            };
            let id = match self.driver.accept(*protocol, peer, now) {
                Ok(id) => id,
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "refusing connection");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let token = Token(id.0 as usize + CONN_TOKEN_BASE);
            if let Err(e) = self.poll.registry().register(&mut stream, token, Interest::READABLE | Interest::WRITABLE) {
                tracing::warn!(%peer, error = %e, "cannot poll connection");
                self.driver.handle_closed(id, now);
                continue;
            }
            self.conns.insert(id, Conn::new(stream, self.opts.output_limit));
        }
    }

    /// Reads one chunk from every connection that has input and room for
    /// output (one chunk each per turn, so a busy peer cannot starve others).
    fn read_ready(&mut self, now: Instant) {
        let ids: Vec<ConnId> = self.conns.iter().filter(|(_, c)| c.wants_read()).map(|(id, _)| *id).collect();
        for id in ids {
            let Some(c) = self.conns.get_mut(&id) else { continue };
            match c.read_into(&mut self.rbuf) {
                Ok(n @ 1..) if c.core_live => self.driver.handle_input(id, self.rbuf.get(..n).unwrap_or_default(), now),
                Ok(_) => {}
                Err(e) => {
                    tracing::info!(conn = id.0, error = %e, "read failed");
                    self.drop_conn(id, now);
                }
            }
            // A peer that closed its side: the core forgets it; what is
            // queued still goes out.
            if let Some(c) = self.conns.get_mut(&id) {
                if c.eof && c.core_live {
                    c.core_live = false;
                    self.driver.handle_closed(id, now);
                }
            }
        }
    }

    fn outputs(&mut self) {
        dispatch_outputs(&mut self.driver, &mut Queues(&mut self.conns, &mut self.storage));
    }

    /// Writes what is queued; closes (and after lingering, drops)
    /// connections the core is done with.
    fn write_and_close(&mut self, now: Instant) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            let Some(c) = self.conns.get_mut(&id) else { continue };
            match c.flush(now) {
                Ok(Flushed::Open) => {}
                Ok(Flushed::Done) => self.drop_conn(id, now),
                Err(e) => {
                    tracing::info!(conn = id.0, error = %e, "write failed");
                    self.drop_conn(id, now);
                }
            }
        }
    }

    fn drop_conn(&mut self, id: ConnId, now: Instant) {
        if let Some(mut c) = self.conns.remove(&id) {
            let _ = self.poll.registry().deregister(&mut c.stream);
            if c.core_live {
                self.driver.handle_closed(id, now);
            }
        }
    }
}

/// The storage workers and how their completions reach the loop.
#[derive(Debug)]
struct Storage {
    pool: WorkerPool,
    done: std::sync::mpsc::Sender<IoCompletion>,
    waker: Arc<Waker>,
}

/// The connections' write queues and the storage workers, as the driver's
/// output goes to them.
struct Queues<'a>(&'a mut BTreeMap<ConnId, Conn>, &'a mut Storage);

impl Outputs for Queues<'_> {
    fn transmit(&mut self, conn: ConnId, data: Bytes) {
        if let Some(c) = self.0.get_mut(&conn) {
            c.transmit(data);
        }
    }

    // `write_and_close` closes it once its queue is empty.
    fn close(&mut self, conn: ConnId) {
        if let Some(c) = self.0.get_mut(&conn) {
            c.core_live = false;
        }
    }

    fn storage(&mut self, req: IoRequest) {
        let (done, waker) = (self.1.done.clone(), self.1.waker.clone());
        let deliver = move |c| {
            if done.send(c).is_ok() {
                let _ = waker.wake();
            }
        };
        match self.0.get_mut(&req.conn()).and_then(Conn::for_worker) {
            // A reply the worker framed leaves from the worker; the loop
            // writes what the socket did not take once the completion wakes
            // it.
            Some((outbox, stream)) => {
                let send = move |reply| outbox.send_reply(reply, &FdSocket(&*stream));
                self.1.pool.storage_sending(req, send, deliver);
            }
            None => self.1.pool.storage(req, deliver),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_until_the_core_deadline() {
        polyshare_runtime::testing::sleeps_until_the_core_deadline("mio", |opts, driver, run_for| {
            let listeners = Listeners::bind(opts)?;
            let stopper = listeners.stopper();
            let stop = std::thread::spawn(move || {
                std::thread::sleep(run_for);
                stopper.stop();
            });
            let served = serve_driver(listeners, driver);
            stop.join().unwrap();
            served
        });
    }
}
