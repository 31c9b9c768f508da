//! The core task's side of an adapter: what connection tasks report
//! ([`Event`]), how it is fed to the driver ([`handle_event`]), and how the
//! driver's output reaches the connections ([`dispatch_outputs`]).

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use polyshare_core::{ConnId, Driver, IoCompletion, IoRequest, Output, Protocol};

/// Bytes asked of one read of a connection.
pub const READ_CHUNK: usize = 64 * 1024;
/// Capacity of the channel connection tasks report to the core task on:
/// bounded, so readers wait when the core falls behind.
pub const EVENT_QUEUE: usize = 256;
/// Pause after a failed accept (for example EMFILE) before trying again.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the accept and connection tasks tell the core task; `S` is the
/// runtime's stream type.
#[derive(Debug)]
pub enum Event<S> {
    /// A listener for `Protocol` accepted a stream from this peer.
    Accepted(Protocol, S, SocketAddr),
    /// One whole message read from a connection, framed by its reader
    /// ([`ReadFramer`]), and when the read that completed it returned (the
    /// core's request latencies start there).
    Frame(ConnId, Bytes, Instant),
    /// The reader could not frame the connection's input: the core closes
    /// it (and the reader lingers).
    Unframeable(ConnId),
    /// End of stream or a read error.
    ReadEnd(ConnId, Option<io::Error>),
    /// Writing to a connection failed.
    WriteFailed(ConnId, io::Error),
    /// A storage request ran on the [`crate::WorkerPool`].
    IoDone(IoCompletion),
}

impl<S> Event<S> {
    /// Whether the reader stops once it has sent this.
    pub fn ends_reading(&self) -> bool {
        matches!(self, Event::ReadEnd(..))
    }
}

/// Where the driver's output goes: the runtime's connection table.
pub trait Outputs {
    /// Queue `data` for `conn` (ignored if the connection is already gone).
    fn transmit(&mut self, conn: ConnId, data: Bytes);
    /// The core is done with `conn`: flush what is queued, close our side,
    /// and linger (see [`crate::LINGER`]). Input for it is no longer fed to
    /// the core.
    fn close(&mut self, conn: ConnId);
    /// Run `req` off the event loop (on the runtime's [`crate::WorkerPool`])
    /// and hand its completion back to the driver
    /// ([`Driver::handle_io`]), as [`Event::IoDone`] where events are used.
    fn storage(&mut self, req: IoRequest);
}

/// Hands everything the driver has produced to `outputs`. The only `match`
/// on [`Output`] in the adapters: a new kind of output (storage requests for
/// the [`crate::WorkerPool`]) is handled here, once.
pub fn dispatch_outputs(driver: &mut Driver, outputs: &mut impl Outputs) {
    while let Some(out) = driver.poll_output() {
        match out {
            Output::Transmit { conn, data } => outputs.transmit(conn, data),
            Output::Close { conn } => outputs.close(conn),
            Output::Io(req) => outputs.storage(req),
        }
    }
}

/// A connection table driven by [`Event`]s (the task-based runtimes).
pub trait Connections: Outputs {
    /// The runtime's stream type.
    type Stream;
    /// The core accepted `stream` as `conn`, speaking `protocol`: start its
    /// tasks.
    fn open(&mut self, conn: ConnId, protocol: Protocol, stream: Self::Stream);
    /// Whether the core still knows `conn` (its input is fed to the core).
    fn is_open(&self, conn: ConnId) -> bool;
    /// The reader of `conn` ended: forget it, letting its writer flush and
    /// close. Returns whether it was open.
    fn read_ended(&mut self, conn: ConnId) -> bool;
    /// The writer of `conn` failed: forget it and stop its reader. Returns
    /// whether it was open.
    fn write_failed(&mut self, conn: ConnId) -> bool;
}

/// Feeds one event to the driver, keeping `conns` in step with it.
pub fn handle_event<C: Connections>(driver: &mut Driver, conns: &mut C, ev: Event<C::Stream>) {
    let now = Instant::now();
    match ev {
        Event::Accepted(protocol, stream, peer) => match driver.accept(protocol, peer, now) {
            Ok(conn) => conns.open(conn, protocol, stream),
            Err(e) => tracing::warn!(%peer, error = %e, "refusing connection"),
        },
        // Input for a connection the core has closed is ignored.
        Event::Frame(conn, frame, received) => {
            if conns.is_open(conn) {
                driver.handle_frame_received(conn, frame, received, now);
            }
        }
        Event::Unframeable(conn) => {
            if conns.is_open(conn) {
                driver.handle_unframeable(conn, now);
            }
        }
        Event::ReadEnd(conn, err) => {
            if conns.read_ended(conn) {
                if let Some(e) = err {
                    tracing::info!(conn = conn.0, error = %e, "read failed");
                }
                driver.handle_closed(conn, now);
            }
        }
        Event::IoDone(c) => driver.handle_io(c, now),
        Event::WriteFailed(conn, e) => {
            if conns.write_failed(conn) {
                tracing::info!(conn = conn.0, error = %e, "write failed");
                driver.handle_closed(conn, now);
            }
        }
    }
}

/// Frames a connection's input where it is read, in the adapter's reader:
/// the stream is read straight into the framer's buffer
/// ([`ReadFramer::buf`]), and whole messages go to the core
/// ([`Driver::handle_frame`]) as slices of it, so the core never copies input and
/// a large WRITE reaches storage where the socket put it.
#[derive(Debug)]
pub struct ReadFramer {
    conn: ConnId,
    framer: polyshare_core::framing::Framer,
}

impl ReadFramer {
    /// A framer for `conn`; `max_frame` is the core's
    /// [`polyshare_core::config::Limits::max_frame`].
    pub fn new(conn: ConnId, protocol: Protocol, max_frame: usize) -> Self {
        Self { conn, framer: polyshare_core::framing::Framer::new(protocol.transport(), max_frame) }
    }

    /// The connection being read.
    pub fn conn(&self) -> ConnId {
        self.conn
    }

    /// Where to read next: room for [`READ_CHUNK`] bytes, or the rest of the
    /// message being received.
    pub fn buf(&mut self) -> &mut bytes::BytesMut {
        self.framer.read_buf(READ_CHUNK)
    }

    /// Takes bytes read into a buffer of the reader's own (for a runtime
    /// whose reads need an initialised `&mut [u8]`, which a `BytesMut`'s
    /// spare room is not without `unsafe`): the one copy of the input.
    pub fn push(&mut self, data: &[u8]) {
        self.framer.read_buf(data.len()).extend_from_slice(data);
    }

    /// What one read that returned `read` tells the core task, appended to
    /// `out`: whole messages, or the end of the stream (0 bytes, or an
    /// error).
    pub fn after_read<S>(&mut self, read: io::Result<usize>, out: &mut Vec<Event<S>>) {
        match read {
            Ok(0) => out.push(Event::ReadEnd(self.conn, None)),
            Ok(_) => self.events(out),
            Err(e) => out.push(Event::ReadEnd(self.conn, Some(e))),
        }
    }

    /// The events for what has been read: whole messages, then, if the
    /// stream cannot be framed, [`Event::Unframeable`] (the last event: the
    /// reader then reads no more).
    pub fn events<S>(&mut self, out: &mut Vec<Event<S>>) {
        let read = Instant::now();
        loop {
            match self.framer.next_frame() {
                Ok(Some(frame)) => out.push(Event::Frame(self.conn, frame, read)),
                Ok(None) => return,
                Err(e) => {
                    tracing::info!(conn = self.conn.0, error = %e, "closing unframeable connection");
                    out.push(Event::Unframeable(self.conn));
                    return;
                }
            }
        }
    }
}

/// Sends a reader's events to the core task, in order, with `send` (the
/// runtime's channel; false once the core task is gone). False when the
/// reader must stop: the core task is gone or the stream ended. After
/// [`Event::Unframeable`] it never returns: the core closes the connection,
/// and the reader's task is then stopped or lingers.
pub async fn deliver<S, F>(out: &mut Vec<Event<S>>, mut send: impl FnMut(Event<S>) -> F) -> bool
where
    F: std::future::Future<Output = bool>,
{
    for ev in out.drain(..) {
        let (end, unframeable) = (ev.ends_reading(), matches!(ev, Event::Unframeable(_)));
        if !send(ev).await || end {
            return false;
        }
        if unframeable {
            std::future::pending::<()>().await;
        }
    }
    true
}
