//! The core task's side of an adapter: what connection tasks report
//! ([`Event`]), how it is fed to the driver ([`handle_event`]), and how the
//! driver's output reaches the connections ([`dispatch_outputs`]).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use polyshare_core::framing::Framer;
use polyshare_core::splice::{Inflow, PipePool, PipedData};
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
    /// A large WRITE whose data the reader received into pipes: the message
    /// up to its data, the data, and when the last of it arrived
    /// ([`Driver::handle_spliced_frame`]).
    SplicedFrame(ConnId, Bytes, PipedData, Instant),
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
        Event::SplicedFrame(conn, head, data, received) => {
            if conns.is_open(conn) {
                driver.handle_spliced_frame(conn, head, data, received, now);
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
///
/// Given a pipe pool ([`ReadFramer::with_pipes`]), a large lone WRITE that
/// needs no user-space pass (`framing::spliceable_write`: not signed, not
/// sealed) is not read at all past its head: the reader splices its data
/// from the socket into pipes ([`ReadFramer::inflow`],
/// [`Inflow::splice_from`]) and the core gets the head and the pipes
/// ([`Event::SplicedFrame`]). After such a WRITE the next read asks for
/// [`HEAD_READ`] bytes only ([`ReadFramer::read_limit`]), so that the next
/// WRITE's head is seen before its data is read.
#[derive(Debug)]
pub struct ReadFramer {
    conn: ConnId,
    framer: Framer,
    pipes: Option<Arc<PipePool>>,
    /// The WRITE whose data is being received into pipes.
    receiving: Option<Receiving>,
    /// The last large message's data came through pipes.
    spliced_last: bool,
    /// The message at the front is read into the buffer, not spliced (no
    /// pipe could take its data).
    declined: bool,
}

#[derive(Debug)]
struct Receiving {
    /// The message's head, its Direct-TCP header or record mark included.
    head: Bytes,
    inflow: Inflow,
}

/// Bytes asked of a read after a WRITE whose data was received into pipes:
/// enough for the next WRITE's head (SMB2: 116; an NFS WRITE with AUTH_SYS
/// credentials: a few hundred), little of its data.
pub const HEAD_READ: usize = 1024;

impl ReadFramer {
    /// A framer for `conn`; `max_frame` is the core's
    /// [`polyshare_core::config::Limits::max_frame`].
    pub fn new(conn: ConnId, protocol: Protocol, max_frame: usize) -> Self {
        let framer = Framer::new(protocol.transport(), max_frame);
        Self { conn, framer, pipes: None, receiving: None, spliced_last: false, declined: false }
    }

    /// Receives the data of large WRITEs into pipes from `pipes` (the
    /// core's, [`polyshare_core::Server::pipe_pool`]) where it can.
    pub fn with_pipes(mut self, pipes: Arc<PipePool>) -> Self {
        self.pipes = Some(pipes);
        self
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

    /// Most bytes the next read into [`ReadFramer::buf`] should take (see
    /// [`HEAD_READ`]); `usize::MAX` for no limit.
    pub fn read_limit(&self) -> usize {
        match self.spliced_last && self.framer.buffered() < HEAD_READ {
            true => HEAD_READ - self.framer.buffered(),
            false => usize::MAX,
        }
    }

    /// The data being received into pipes: while this is `Some`, splice
    /// from the socket into it ([`Inflow::splice_from`], when the socket is
    /// readable) instead of reading, and report each splice with
    /// [`ReadFramer::after_read`].
    pub fn inflow(&mut self) -> Option<&mut Inflow> {
        self.receiving.as_mut().map(|r| &mut r.inflow)
    }

    /// Takes bytes read into a buffer of the reader's own (for a runtime
    /// whose reads need an initialised `&mut [u8]`, which a `BytesMut`'s
    /// spare room is not without `unsafe`): the one copy of the input.
    pub fn push(&mut self, data: &[u8]) {
        self.framer.read_buf(data.len()).extend_from_slice(data);
    }

    /// What one read (or splice into [`ReadFramer::inflow`]) that returned
    /// `read` tells the core task, appended to `out`: whole messages, or
    /// the end of the stream (0 bytes, or an error).
    pub fn after_read<S>(&mut self, read: io::Result<usize>, out: &mut Vec<Event<S>>) {
        match read {
            Ok(0) => out.push(Event::ReadEnd(self.conn, None)),
            Ok(_) => self.events(out),
            // No more pipes to be had, or the socket does not splice: the
            // data received so far is taken back out of the pipes and the
            // message read like any other.
            Err(e)
                if matches!(e.kind(), io::ErrorKind::OutOfMemory | io::ErrorKind::Unsupported)
                    && self.receiving.is_some() =>
            {
                if e.kind() == io::ErrorKind::Unsupported {
                    self.pipes = None;
                }
                if let Some(r) = self.receiving.take() {
                    match r.inflow.into_bytes() {
                        Ok(data) => {
                            self.framer.unshift(&[&r.head, &data]);
                            self.declined = true;
                            self.events(out);
                        }
                        Err(e) => out.push(Event::ReadEnd(self.conn, Some(e))),
                    }
                }
            }
            Err(e) => out.push(Event::ReadEnd(self.conn, Some(e))),
        }
    }

    /// The events for what has been read: whole messages, then, if the
    /// stream cannot be framed, [`Event::Unframeable`] (the last event: the
    /// reader then reads no more).
    pub fn events<S>(&mut self, out: &mut Vec<Event<S>>) {
        let read = Instant::now();
        if let Some(r) = self.receiving.take_if(|r| r.inflow.remaining() == 0) {
            let head = r.head.slice(4..);
            out.push(Event::SplicedFrame(self.conn, head, PipedData::new(r.inflow.finish()), read));
            self.spliced_last = true;
        }
        if self.receiving.is_some() {
            return;
        }
        loop {
            match self.framer.next_frame() {
                Ok(Some(frame)) => {
                    self.declined = false;
                    if frame.len() >= polyshare_core::framing::SPLICE_IN_MIN {
                        self.spliced_last = false;
                    }
                    out.push(Event::Frame(self.conn, frame, read));
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::info!(conn = self.conn.0, error = %e, "closing unframeable connection");
                    out.push(Event::Unframeable(self.conn));
                    return;
                }
            }
        }
        self.start_receiving();
    }

    /// Begins receiving the data of the WRITE at the front of the buffer
    /// into pipes, when it may be (a pipe is to be had).
    fn start_receiving(&mut self) {
        let Some(pipes) = self.pipes.as_ref().filter(|_| !self.declined) else { return };
        let Some(plan) = self.framer.splice_plan() else { return };
        let Some(mut inflow) = pipes.inflow(plan.data) else { return };
        let (head, prefix) = self.framer.take_spliced_head(plan);
        match inflow.put(&prefix) {
            Ok(()) => self.receiving = Some(Receiving { head, inflow }),
            // Not even the first bytes fit: the message is read as usual.
            Err(_) => {
                drop(inflow);
                self.framer.unshift(&[&head, &prefix]);
                self.declined = true;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    /// A Direct-TCP framed SMB2 message: a lone unsigned WRITE of `len`
    /// bytes of `fill` (`write`), or an ECHO.
    fn smb(write: bool, len: usize, fill: u8) -> Vec<u8> {
        let mut m = b"\xfeSMB".to_vec();
        m.extend_from_slice(&64u16.to_le_bytes());
        m.resize(12, 0);
        m.extend_from_slice(&(if write { 9u16 } else { 13 }).to_le_bytes());
        m.resize(64, 0);
        if write {
            m.extend_from_slice(&49u16.to_le_bytes());
            m.extend_from_slice(&112u16.to_le_bytes());
            m.extend_from_slice(&(len as u32).to_le_bytes());
            m.resize(112, 0);
            m.resize(112 + len, fill);
        } else {
            m.extend_from_slice(&[4, 0, 0, 0]);
        }
        polyshare_core::framing::encode_frame(polyshare_core::framing::Transport::SmbDirectTcp, &m).to_vec()
    }

    /// Reads `stream` (sent by another thread, then closed) through a
    /// `ReadFramer` as an adapter's reader does: splicing while it has an
    /// inflow, otherwise reading at most `read_limit` bytes; every event
    /// up to the end of the stream.
    fn read_through(pipes: Arc<PipePool>, stream: Vec<u8>, chunk: usize) -> (Vec<Event<()>>, Vec<usize>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut tx = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut rx, _) = l.accept().unwrap();
        rx.set_nonblocking(true).unwrap();
        let sender = std::thread::spawn(move || tx.write_all(&stream).unwrap());
        let mut framer = ReadFramer::new(ConnId(1), Protocol::Smb, 16 << 20).with_pipes(pipes);
        let (mut out, mut limits) = (Vec::new(), Vec::new());
        let mut buf = vec![0u8; chunk];
        loop {
            let read = match framer.inflow() {
                Some(inflow) => inflow.splice_from(rx.as_fd()),
                None => {
                    let limit = framer.read_limit().min(buf.len());
                    limits.push(limit);
                    rx.read(&mut buf[..limit]).inspect(|n| framer.push(&buf[..*n]))
                }
            };
            if matches!(&read, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
                std::thread::sleep(std::time::Duration::from_millis(1));
                continue;
            }
            framer.after_read(read, &mut out);
            if out.iter().any(|e| e.ends_reading()) {
                break;
            }
        }
        sender.join().unwrap();
        (out, limits)
    }

    #[test]
    fn large_writes_arrive_in_pipes_and_the_rest_as_frames_in_order() {
        let (w1, w2, echo) = (smb(true, 300_000, 1), smb(true, 200_001, 2), smb(false, 0, 0));
        let stream = [&echo[..], &w1, &w2, &echo].concat();
        let (events, limits) = read_through(PipePool::new(), stream, 1 << 20);
        let mut kinds = Vec::new();
        for ev in events {
            match ev {
                Event::Frame(_, f, _) => kinds.push(("frame", f.len(), f[12])),
                Event::SplicedFrame(_, head, data, _) => {
                    assert_eq!(head.len(), 112, "the message up to its data");
                    let bytes = data.to_vec().unwrap();
                    assert!(bytes.iter().all(|b| *b == bytes[0]), "the data as sent");
                    kinds.push(("spliced", bytes.len(), bytes[0]));
                }
                Event::ReadEnd(_, None) => kinds.push(("end", 0, 0)),
                other => panic!("unexpected {other:?}"),
            }
        }
        let want =
            [("frame", 68, 13), ("spliced", 300_000, 1), ("spliced", 200_001, 2), ("frame", 68, 13), ("end", 0, 0)];
        assert_eq!(kinds, want);
        assert!(limits.contains(&HEAD_READ), "after a spliced WRITE, reads ask for a head's worth: {limits:?}");
    }

    #[test]
    fn with_no_pipes_to_be_had_a_large_write_arrives_whole() {
        let (w1, echo) = (smb(true, 3_000_000, 7), smb(false, 0, 0));
        let stream = [&w1[..], &echo].concat();
        // One pipe of one page: full at once, and no second one. Reads of
        // 512 bytes, so that the head and a little data fit in the pipe and
        // the rest is being spliced when the pipes run out.
        let (events, _) = read_through(PipePool::with_pipe_size(1, 4096), stream, 512);
        let frames: Vec<(usize, u8)> = events
            .iter()
            .filter_map(|e| match e {
                Event::Frame(_, f, _) => Some((f.len(), f[f.len() - 1])),
                Event::SplicedFrame(..) => panic!("not spliced"),
                _ => None,
            })
            .collect();
        assert_eq!(frames, vec![(3_000_112, 7), (68, 0)]);
        assert!(matches!(events.last(), Some(Event::ReadEnd(_, None))));
    }

    /// A loopback connection whose receiving end does not block, and a
    /// thread sending `data` into it.
    fn sending(data: Vec<u8>) -> (std::net::TcpStream, std::thread::JoinHandle<()>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut tx = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (rx, _) = l.accept().unwrap();
        rx.set_nonblocking(true).unwrap();
        (rx, std::thread::spawn(move || tx.write_all(&data).unwrap()))
    }

    /// Splices until `inflow` has all it wants or splicing fails.
    fn splice_all(inflow: &mut Inflow, rx: &std::net::TcpStream) -> io::Result<()> {
        while inflow.remaining() > 0 {
            match inflow.splice_from(rx.as_fd()) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(1))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    #[test]
    fn a_payload_spliced_from_a_socket_fills_pipes_in_order() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 11 + i / 5000) as u8).collect();
        let (rx, tx) = sending(data[1000..].to_vec());
        // Small pipes: a pipe holds 256 of what the socket received, which
        // on loopback is up to 8 MiB in 1 MiB pipes.
        let pool = PipePool::with_pipe_size(polyshare_core::splice::MAX_LIVE, 64 << 10);
        let mut inflow = pool.inflow(data.len()).unwrap();
        // The bytes read with the head go first.
        inflow.put(&data[..1000]).unwrap();
        splice_all(&mut inflow, &rx).unwrap();
        tx.join().unwrap();
        assert!(pool.live() > 1, "a full pipe is followed by another");
        let got = PipedData::new(inflow.finish()).to_vec().unwrap();
        assert!(got == data, "the bytes as sent, in order");
    }

    #[test]
    fn with_no_pipe_left_the_bytes_spliced_come_back() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 5) as u8).collect();
        let (rx, tx) = sending(data.clone());
        let pool = PipePool::with_pipe_size(1, 4096);
        let mut inflow = pool.inflow(data.len()).unwrap();
        let err = splice_all(&mut inflow, &rx).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
        let mut got = inflow.into_bytes().unwrap();
        assert!(!got.is_empty() && got.len() < data.len());
        // The rest is read from the socket as usual.
        rx.set_nonblocking(false).unwrap();
        let mut rest = vec![0u8; data.len() - got.len()];
        (&rx).read_exact(&mut rest).unwrap();
        tx.join().unwrap();
        got.extend_from_slice(&rest);
        assert!(got == data);
        assert_eq!((pool.live(), pool.idle()), (1, 1), "the emptied pipe is kept for reuse");
    }
}
