//! A connection's output: the queue of messages not yet written
//! ([`WriteQueue`]), and for the task runtimes the same queue shared between
//! the core task and the connection's writer task ([`Outbox`]).
//!
//! Why the core task writes small messages itself: the core produces its
//! output in an order that matters across connections too. A lease break
//! owed to the client's oldest connection and the reply that caused it on a
//! newer one leave in the same turn, break first (MS-SMB2 3.3.4.7); if each
//! went through its own writer task, the reply could reach the client
//! before the break, and a client that checks for the break once it has the
//! reply (smbtorture's smb2.lease.unlink) would miss it. Writing a small
//! message straight to the socket when nothing is queued ahead of it keeps
//! the core's order, and saves a task hop for every small reply (an ECHO
//! answered from the core task does not wait for a writer to be
//! scheduled). Large messages (READ payloads) still go to the writer, off
//! the core's thread.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::{Buf, Bytes};
use event_listener::Event;
use polyshare_core::Reply;
use polyshare_core::splice::Spliced;

use crate::Queued;

/// Queued buffers handed to one vectored write.
pub const MAX_IOVECS: usize = 64;

/// Most bytes one vectored write offers the socket. A write into a roomy
/// loopback socket copies all it is given, and the thread inside it runs
/// nothing else meanwhile: a writer task of a runtime's shared worker thread
/// that hands over 8 MiB at once holds up every other connection's reader
/// and the core task on that thread for milliseconds. Writers yield to the
/// runtime between writes of at most this much.
pub const WRITE_SLICE_MAX: usize = 256 * 1024;

/// Largest message the core task writes to a socket itself (see the module
/// documentation); larger ones are copied into the socket by the writer.
pub const DIRECT_WRITE_MAX: usize = 64 * 1024;

/// Messages queued for one connection, in order, written with vectored
/// writes; the data of a spliced READ reply waits in its pipes and is
/// spliced into the socket when its turn comes ([`Reply::Spliced`]).
#[derive(Debug, Default)]
pub struct WriteQueue {
    out: VecDeque<Chunk>,
    bytes: usize,
}

/// A piece of queued output.
#[derive(Debug)]
enum Chunk {
    Data(Bytes),
    Spliced(Spliced),
}

impl Chunk {
    fn len(&self) -> usize {
        match self {
            Chunk::Data(b) => b.len(),
            Chunk::Spliced(s) => s.len(),
        }
    }
}

impl WriteQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Bytes queued.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Queues `data` after everything else.
    pub fn push(&mut self, data: Bytes) {
        self.push_chunk(Chunk::Data(data));
    }

    /// Queues a reply a worker framed after everything else.
    pub fn push_reply(&mut self, reply: Reply) {
        match reply {
            Reply::Whole(data) => self.push(data),
            Reply::Spliced(sp) => {
                let tail = sp.tail_bytes();
                self.push(sp.head);
                self.push_chunk(Chunk::Spliced(sp.data));
                self.push(tail);
            }
        }
    }

    fn push_chunk(&mut self, chunk: Chunk) {
        if chunk.len() > 0 {
            self.bytes += chunk.len();
            self.out.push_back(chunk);
        }
    }

    /// One vectored write of the front of the queue (at most
    /// [`MAX_IOVECS`] buffers and [`WRITE_SLICE_MAX`] bytes) with `write`;
    /// what it took leaves the queue. Spliced data is read back from its
    /// pipes first (see [`WriteQueue::write_to`], which splices it).
    /// Returns the bytes written (0 when the queue is empty). `WouldBlock`
    /// and other errors are returned as they are, and nothing is taken.
    pub fn write_with(&mut self, write: impl FnOnce(&[IoSlice<'_>]) -> io::Result<usize>) -> io::Result<usize> {
        let mut once = Some(write);
        let write = move |bufs: &[IoSlice<'_>]| match once.take() {
            Some(write) => write(bufs),
            None => Err(io::ErrorKind::WouldBlock.into()),
        };
        self.write_to(&WriteOnly(RefCell::new(write)))
    }

    /// One write of the front of the queue to `sock`: a vectored write of
    /// the buffers up to the next spliced data (at most [`MAX_IOVECS`]
    /// buffers and [`WRITE_SLICE_MAX`] bytes), or a splice of the data of
    /// the front pipe. Otherwise as [`WriteQueue::write_with`].
    pub fn write_to(&mut self, sock: &impl WorkerSocket) -> io::Result<usize> {
        self.write_at_most(WRITE_SLICE_MAX, sock)
    }

    /// [`WriteQueue::write_to`], offering at most `max` bytes of buffers.
    fn write_at_most(&mut self, max: usize, sock: &impl WorkerSocket) -> io::Result<usize> {
        let n = match self.out.front_mut() {
            None => return Ok(0),
            Some(Chunk::Spliced(data)) => {
                let Some((pipe, held)) = data.front() else { return Err(io::ErrorKind::WriteZero.into()) };
                match sock.splice_from(pipe, held) {
                    Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                        // No splicing here: read the data back and write it.
                        let mut buf = vec![0u8; data.len()];
                        let got = data.drain_into(&mut buf)?;
                        buf.truncate(got);
                        if let Some(front) = self.out.front_mut() {
                            *front = Chunk::Data(Bytes::from(buf));
                        }
                        return self.write_at_most(max, sock);
                    }
                    r => r?,
                }
            }
            Some(Chunk::Data(_)) => {
                let mut room = max;
                let mut slices: Vec<IoSlice<'_>> = Vec::new();
                for c in self.out.iter().take(MAX_IOVECS) {
                    let Chunk::Data(b) = c else { break };
                    if room == 0 {
                        break;
                    }
                    let part = &b[..b.len().min(room)];
                    room -= part.len();
                    slices.push(IoSlice::new(part));
                }
                sock.write_vectored(&slices)?
            }
        };
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        self.consume(n);
        Ok(n)
    }

    /// Takes everything queued, leaving the queue empty.
    pub fn take(&mut self) -> WriteQueue {
        std::mem::take(self)
    }

    /// Queues everything of `later` after what is queued.
    pub fn append(&mut self, mut later: WriteQueue) {
        self.bytes += later.bytes;
        self.out.append(&mut later.out);
    }

    fn consume(&mut self, mut n: usize) {
        self.bytes -= n.min(self.bytes);
        while n > 0 {
            let Some(front) = self.out.front_mut() else { return };
            let len = front.len();
            if n < len {
                match front {
                    Chunk::Data(b) => b.advance(n),
                    Chunk::Spliced(s) => s.taken(n),
                }
                return;
            }
            n -= len;
            self.out.pop_front();
        }
    }
}

/// Queues `data` on `queue`, first writing it with `try_write` (a
/// non-blocking write to the connection's socket) when nothing is queued
/// ahead of it and it is at most [`DIRECT_WRITE_MAX`] bytes. Returns the
/// bytes written now, or the write's error; what the socket did not take
/// (all of it if it would block or failed) is queued either way, and a
/// failure shows again at the next write.
pub fn write_or_queue(
    queue: &mut WriteQueue,
    data: Bytes,
    try_write: impl FnOnce(&[IoSlice<'_>]) -> io::Result<usize>,
) -> io::Result<usize> {
    let direct = queue.is_empty() && data.len() <= DIRECT_WRITE_MAX;
    queue.push(data);
    if direct { queue.write_with(try_write) } else { Ok(0) }
}

#[derive(Debug, Default)]
struct State {
    queue: WriteQueue,
    /// The writer has taken a batch and is writing it: the core must not
    /// write ahead of it.
    writing: bool,
    /// A storage worker has taken the queue and is writing it
    /// ([`Outbox::send_now`]): the core and the writer wait behind it.
    lent: bool,
    /// No more output: the writer flushes and closes.
    closed: bool,
}

/// Closes our side of a connection (TCP FIN) through a shared reference
/// (the writer shares the socket with the reader and the core task). Fails
/// only if the peer is already gone, which is fine.
pub fn shutdown_write(stream: &impl std::os::fd::AsRawFd) {
    let _ = nix::sys::socket::shutdown(stream.as_raw_fd(), nix::sys::socket::Shutdown::Write);
}

/// A connection's socket as queued output is written to it: every call is
/// one non-blocking attempt, `WouldBlock` when the socket is full.
pub trait WorkerSocket {
    /// One vectored write.
    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// Moves up to `len` bytes from `pipe` into the socket (splice(2)): the
    /// data of a [`Reply::Spliced`]. `Unsupported` has the data read back
    /// and written instead.
    fn splice_from(&self, pipe: BorrowedFd<'_>, len: usize) -> io::Result<usize>;
}

/// A [`WorkerSocket`] that makes the system calls on the descriptor
/// directly (mio and async-io, whose readiness does not need to hear of a
/// full socket; tokio wraps these in `try_io`).
#[derive(Debug)]
pub struct FdSocket<'a, T: AsFd>(pub &'a T);

impl<T: AsFd> WorkerSocket for FdSocket<'_, T> {
    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        loop {
            match rustix::io::writev(self.0, bufs) {
                Err(rustix::io::Errno::INTR) => {}
                r => return r.map_err(io::Error::from),
            }
        }
    }

    fn splice_from(&self, pipe: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
        let flags = rustix::pipe::SpliceFlags::MOVE | rustix::pipe::SpliceFlags::NONBLOCK;
        loop {
            match rustix::pipe::splice(pipe, None, self.0, None, len, flags) {
                Err(rustix::io::Errno::INTR) => {}
                r => return r.map_err(io::Error::from),
            }
        }
    }
}

/// A write function as a [`WorkerSocket`] that cannot splice (spliced data
/// is read back and written).
struct WriteOnly<F>(RefCell<F>);

impl<F: FnMut(&[IoSlice<'_>]) -> io::Result<usize>> WorkerSocket for WriteOnly<F> {
    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (self.0.borrow_mut())(bufs)
    }

    fn splice_from(&self, _pipe: BorrowedFd<'_>, _len: usize) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// One connection's output, shared by the core task and the connection's
/// writer task (any runtime: the writer's waits are runtime-independent).
/// The core task calls [`Outbox::transmit`], which writes a small message
/// straight to the socket when nothing is queued or being written ahead of
/// it, and queues it otherwise; the writer task takes what is queued
/// ([`Outbox::next_batch`]), writes it, and reports it written
/// ([`Outbox::written`]). Backpressure is counted in the [`Queued`] it
/// carries.
#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
    ready: Event,
    queued: Queued,
}

impl Outbox {
    /// Nothing queued; the connection's reader stops while more than
    /// `limit` bytes are.
    pub fn new(limit: usize) -> Self {
        Self { state: Mutex::new(State::default()), ready: Event::new(), queued: Queued::new(limit) }
    }

    /// The backpressure and linger accounting.
    pub fn queued(&self) -> &Queued {
        &self.queued
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever a panicking holder did.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The core task's side: `data` goes to the socket now with
    /// `try_write` if it may (see [`write_or_queue`]), else to the writer.
    /// Ignored once closed.
    pub fn transmit(&self, data: Bytes, try_write: impl FnOnce(&[IoSlice<'_>]) -> io::Result<usize>) {
        let mut s = self.lock();
        if s.closed {
            return;
        }
        let len = data.len();
        let written = if s.writing || s.lent {
            s.queue.push(data);
            0
        } else {
            // The writer meets an error again and reports it.
            write_or_queue(&mut s.queue, data, try_write).unwrap_or(0)
        };
        if written < len {
            self.queued.queue(len - written);
            drop(s);
            self.ready.notify(1);
        }
    }

    /// A storage worker's side (see `polyshare_core::IoCompletion::take_reply`):
    /// queues `data` behind what is queued and, unless the writer is busy
    /// with a batch, writes the queue now with `try_write` (a non-blocking
    /// write to the connection's socket), as far as the socket takes it
    /// without blocking; the writer writes the rest. Unlike
    /// [`Outbox::transmit`] this writes messages of any size: it runs on a
    /// worker, not on the core's thread or a runtime's, and it writes
    /// without holding the lock, so the core is never held up by it.
    /// Ignored once closed.
    pub fn send_now(&self, data: Bytes, try_write: impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>) {
        self.send_reply(Reply::Whole(data), &WriteOnly(RefCell::new(try_write)));
    }

    /// [`Outbox::send_now`] for any reply a worker framed: a spliced reply
    /// ([`Reply::Spliced`]) goes from its pipes into the socket, and what
    /// the socket does not take now stays in its pipes, queued, for the
    /// writer to splice.
    pub fn send_reply(&self, reply: Reply, sock: &impl WorkerSocket) {
        let mut batch = {
            let mut s = self.lock();
            if s.closed {
                return;
            }
            self.queued.queue(reply.len());
            s.queue.push_reply(reply);
            if s.writing || s.lent {
                drop(s);
                self.ready.notify(1);
                return;
            }
            s.lent = true;
            s.queue.take()
        };
        // Errors show again in the writer, which reports them.
        // A worker holds up no one while it writes: no slices.
        while let Ok(n @ 1..) = batch.write_at_most(usize::MAX, sock) {
            self.queued.sent(n);
        }
        let mut s = self.lock();
        // What was queued meanwhile goes behind what is left of the batch.
        let later = s.queue.take();
        batch.append(later);
        s.queue = batch;
        s.lent = false;
        let wake = !s.queue.is_empty() || s.closed;
        drop(s);
        if wake {
            self.ready.notify(1);
        }
    }

    /// The writer's side for a runtime without tasks (mio's event loop
    /// writes on the loop): takes what is queued to write it now, or `None`
    /// when nothing is, or a worker is writing ([`Outbox::send_now`]).
    /// What it does not write goes back with [`Outbox::give_back`].
    pub fn take_batch(&self) -> Option<WriteQueue> {
        let mut s = self.lock();
        if s.lent || s.writing || s.queue.is_empty() {
            return None;
        }
        s.writing = true;
        Some(s.queue.take())
    }

    /// What was not written of a batch from [`Outbox::take_batch`]: it
    /// leaves first, ahead of what was queued meanwhile.
    pub fn give_back(&self, mut rest: WriteQueue) {
        let mut s = self.lock();
        rest.append(s.queue.take());
        s.queue = rest;
        s.writing = false;
    }

    /// Whether everything handed to the outbox has been written (nothing
    /// queued, no worker writing).
    pub fn is_idle(&self) -> bool {
        let s = self.lock();
        s.queue.is_empty() && !s.lent
    }

    /// No more output: the writer writes what is queued, then
    /// [`Outbox::next_batch`] returns `None`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify(1);
    }

    /// The writer's side: waits until something is queued and takes all of
    /// it (the core then queues behind it until [`Outbox::written`]);
    /// `None` once closed and empty.
    pub async fn next_batch(&self) -> Option<WriteQueue> {
        loop {
            let listener = {
                let mut s = self.lock();
                // While a worker writes the queue (`lent`), wait: it wakes
                // us when it is done and puts back what it did not write.
                if !s.lent && !s.queue.is_empty() {
                    s.writing = true;
                    return Some(s.queue.take());
                }
                s.writing = false;
                if s.closed && !s.lent {
                    return None;
                }
                // Listen before unlocking, so a notify in between is not
                // lost.
                self.ready.listen()
            };
            listener.await;
        }
    }

    /// The writer wrote `n` bytes of a batch.
    pub fn written(&self, n: usize) {
        self.queued.sent(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn poll<T>(f: &mut std::pin::Pin<&mut impl Future<Output = T>>) -> Poll<T> {
        f.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    }

    /// A socket that takes up to `room` bytes per write and records them.
    fn sink(room: usize, got: &mut Vec<u8>) -> impl FnOnce(&[IoSlice<'_>]) -> io::Result<usize> + '_ {
        move |slices| {
            if room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let all: Vec<u8> = slices.iter().flat_map(|s| s.iter().copied()).collect();
            let n = all.len().min(room);
            got.extend_from_slice(&all[..n]);
            Ok(n)
        }
    }

    #[test]
    fn partial_writes_keep_order_and_count() {
        let mut q = WriteQueue::new();
        for b in [&b"abc"[..], b"defg", b"h"] {
            q.push(Bytes::from_static(b));
        }
        let mut got = Vec::new();
        assert_eq!(q.write_with(sink(2, &mut got)).unwrap(), 2);
        let front = match q.out.front() {
            Some(Chunk::Data(b)) => Some(b.to_vec()),
            _ => None,
        };
        assert_eq!((q.bytes(), front), (6, Some(b"c".to_vec())));
        assert_eq!(q.write_with(sink(5, &mut got)).unwrap(), 5);
        assert_eq!((q.bytes(), q.out.len()), (1, 1));
        assert_eq!(q.write_with(sink(5, &mut got)).unwrap(), 1);
        assert!(q.is_empty() && q.bytes() == 0);
        assert_eq!(got, b"abcdefgh");
        assert_eq!(q.write_with(sink(5, &mut got)).unwrap(), 0, "nothing to write");
    }

    #[test]
    fn one_write_is_offered_at_most_a_slice_of_large_messages() {
        let mut q = WriteQueue::new();
        q.push(Bytes::from(vec![1u8; WRITE_SLICE_MAX - 10]));
        q.push(Bytes::from(vec![2u8; 8 << 20]));
        let mut out = Vec::new();
        while !q.is_empty() {
            let n = q
                .write_with(|bufs| {
                    let offered: usize = bufs.iter().map(|b| b.len()).sum();
                    assert!(offered <= WRITE_SLICE_MAX, "offered {offered}");
                    bufs.iter().for_each(|b| out.extend_from_slice(b));
                    Ok(offered)
                })
                .unwrap();
            assert!(n > 0);
        }
        assert_eq!(out.len(), WRITE_SLICE_MAX - 10 + (8 << 20));
        assert!(
            out[..WRITE_SLICE_MAX - 10].iter().all(|b| *b == 1) && out[WRITE_SLICE_MAX - 10..].iter().all(|b| *b == 2)
        );
    }

    #[test]
    fn a_small_message_with_nothing_ahead_is_written_now() {
        let o = Outbox::new(1 << 20);
        let mut got = Vec::new();
        o.transmit(Bytes::from_static(b"break"), sink(100, &mut got));
        assert_eq!(got, b"break");
        assert_eq!(o.queued().bytes(), 0, "nothing left for the writer");
    }

    #[test]
    fn what_the_socket_does_not_take_goes_to_the_writer_in_order() {
        let o = Outbox::new(1 << 20);
        let mut got = Vec::new();
        o.transmit(Bytes::from_static(b"abcdef"), sink(2, &mut got));
        assert_eq!(got, b"ab");
        // Queued behind the rest, not written ahead of it.
        o.transmit(Bytes::from_static(b"gh"), sink(100, &mut got));
        assert_eq!(got, b"ab");
        assert_eq!(o.queued().bytes(), 6);
        let mut next = pin!(o.next_batch());
        let Poll::Ready(Some(mut batch)) = poll(&mut next) else { panic!("a batch") };
        let mut rest = Vec::new();
        while !batch.is_empty() {
            let n = batch.write_with(sink(3, &mut rest)).unwrap();
            o.written(n);
        }
        assert_eq!(rest, b"cdefgh");
        assert_eq!(o.queued().bytes(), 0);
    }

    #[test]
    fn nothing_is_written_ahead_of_a_batch_being_written() {
        let o = Outbox::new(1 << 20);
        let mut got = Vec::new();
        o.transmit(Bytes::from(vec![7u8; DIRECT_WRITE_MAX + 1]), sink(100, &mut got));
        assert!(got.is_empty(), "a large message is the writer's");
        let mut next = pin!(o.next_batch());
        let Poll::Ready(Some(batch)) = poll(&mut next) else { panic!("a batch") };
        // The writer holds the batch: a small message must wait behind it.
        o.transmit(Bytes::from_static(b"echo"), sink(100, &mut got));
        assert!(got.is_empty());
        assert_eq!(batch.bytes(), DIRECT_WRITE_MAX + 1);
        let mut next = pin!(o.next_batch());
        let Poll::Ready(Some(batch)) = poll(&mut next) else { panic!("the echo, after the batch") };
        assert_eq!(batch.bytes(), 4);
        // Once the writer finds the queue empty, the core writes again.
        let mut next = pin!(o.next_batch());
        assert!(poll(&mut next).is_pending());
        o.transmit(Bytes::from_static(b"now"), sink(100, &mut got));
        assert_eq!(got, b"now");
    }

    #[test]
    fn a_socket_that_would_block_leaves_the_message_queued_and_wakes_the_writer() {
        let o = Outbox::new(1 << 20);
        let mut next = pin!(o.next_batch());
        assert!(poll(&mut next).is_pending());
        let mut got = Vec::new();
        o.transmit(Bytes::from_static(b"reply"), sink(0, &mut got));
        let Poll::Ready(Some(batch)) = poll(&mut next) else { panic!("the writer has it") };
        assert_eq!(batch.bytes(), 5);
    }

    #[test]
    fn close_ends_the_writer_after_what_is_queued() {
        let o = Outbox::new(1 << 20);
        let mut got = Vec::new();
        o.transmit(Bytes::from_static(b"last"), sink(0, &mut got));
        o.close();
        o.transmit(Bytes::from_static(b"ignored"), sink(100, &mut got));
        assert!(got.is_empty());
        let mut next = pin!(o.next_batch());
        assert!(matches!(poll(&mut next), Poll::Ready(Some(b)) if b.bytes() == 4));
        let mut next = pin!(o.next_batch());
        assert!(matches!(poll(&mut next), Poll::Ready(None)));
    }

    /// A socket that takes `room` bytes in all, then would block.
    fn budget(mut room: usize, got: &mut Vec<u8>) -> impl FnMut(&[IoSlice<'_>]) -> io::Result<usize> + '_ {
        move |slices| {
            if room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let all: Vec<u8> = slices.iter().flat_map(|s| s.iter().copied()).collect();
            let n = all.len().min(room);
            room -= n;
            got.extend_from_slice(&all[..n]);
            Ok(n)
        }
    }

    #[test]
    fn a_worker_writes_a_large_reply_now_behind_what_is_queued() {
        let o = Outbox::new(64 << 20);
        let mut got = Vec::new();
        o.transmit(Bytes::from_static(b"first"), sink(0, &mut got));
        let big = Bytes::from(vec![9u8; 4 * WRITE_SLICE_MAX + 3]);
        o.send_now(big.clone(), budget(usize::MAX, &mut got));
        assert_eq!(&got[..5], b"first");
        assert_eq!(&got[5..], &big[..]);
        let mut next = pin!(o.next_batch());
        assert!(poll(&mut next).is_pending(), "nothing left for the writer");
    }

    #[test]
    fn while_a_worker_writes_the_core_and_the_writer_wait_and_get_the_rest_in_order() {
        let o = Outbox::new(64 << 20);
        let big = Bytes::from(vec![9u8; 100_000]);
        let mut got = Vec::new();
        let mut echo = Vec::new();
        let mut calls = 0;
        o.send_now(big.clone(), |slices: &[IoSlice<'_>]| {
            calls += 1;
            if calls > 1 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            // Meanwhile the core transmits, and the writer looks for work.
            o.transmit(Bytes::from_static(b"echo"), sink(100, &mut echo));
            let mut next = pin!(o.next_batch());
            assert!(poll(&mut next).is_pending(), "the writer waits for the worker");
            got.extend_from_slice(&slices[0][..10]);
            Ok(10)
        });
        assert!(echo.is_empty(), "nothing is written ahead of the worker's reply");
        assert_eq!(got, &big[..10]);
        let mut next = pin!(o.next_batch());
        let Poll::Ready(Some(mut batch)) = poll(&mut next) else { panic!("the rest is the writer's") };
        assert_eq!(batch.bytes(), 100_000 - 10 + 4);
        let mut rest = Vec::new();
        while batch.write_with(sink(usize::MAX, &mut rest)).unwrap() > 0 {}
        assert_eq!(&rest[..100_000 - 10], &big[10..]);
        assert_eq!(&rest[100_000 - 10..], b"echo");
    }

    #[test]
    fn a_worker_queues_behind_a_batch_the_writer_holds() {
        let o = Outbox::new(64 << 20);
        let mut got = Vec::new();
        o.transmit(Bytes::from(vec![1u8; DIRECT_WRITE_MAX + 1]), sink(100, &mut got));
        let mut next = pin!(o.next_batch());
        let Poll::Ready(Some(_)) = poll(&mut next) else { panic!("a batch") };
        o.send_now(Bytes::from_static(b"reply"), budget(usize::MAX, &mut got));
        assert!(got.is_empty(), "not written ahead of the writer's batch");
        let mut next = pin!(o.next_batch());
        assert!(matches!(poll(&mut next), Poll::Ready(Some(b)) if b.bytes() == 5));
    }

    #[test]
    fn a_closed_outbox_waits_for_the_worker_before_it_ends() {
        let o = Outbox::new(64 << 20);
        let mut got = Vec::new();
        let mut calls = 0;
        o.send_now(Bytes::from_static(b"reply"), |slices: &[IoSlice<'_>]| {
            calls += 1;
            if calls > 1 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            o.close();
            let mut next = pin!(o.next_batch());
            assert!(poll(&mut next).is_pending(), "not ended while the worker writes");
            got.extend_from_slice(&slices[0][..2]);
            Ok(2)
        });
        let mut next = pin!(o.next_batch());
        assert!(matches!(poll(&mut next), Poll::Ready(Some(b)) if b.bytes() == 3), "the rest is flushed");
        let mut next = pin!(o.next_batch());
        assert!(matches!(poll(&mut next), Poll::Ready(None)));
    }

    /// A reply of `HEAD`, `len` bytes of `data` at `offset` spliced into
    /// pipes, and two zero bytes.
    fn spliced(data: &[u8], offset: u64, len: usize) -> Reply {
        use std::io::Write;
        let path = std::env::temp_dir().join(format!("polyshare-outbox-{}-{offset}", std::process::id()));
        std::fs::File::create(&path).unwrap().write_all(data).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let pipes = polyshare_core::splice::PipePool::new();
        let data = pipes.fill(&file, offset, len).expect("spliced");
        Reply::Spliced(polyshare_core::SplicedReply { head: Bytes::from_static(b"HEAD"), data, tail: 2 })
    }

    /// A socket that counts the bytes spliced into it.
    struct Counting<'a>(FdSocket<'a, std::os::unix::net::UnixStream>, std::cell::Cell<usize>);

    impl WorkerSocket for Counting<'_> {
        fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.0.write_vectored(bufs)
        }

        fn splice_from(&self, pipe: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
            let n = self.0.splice_from(pipe, len)?;
            self.1.set(self.1.get() + n);
            Ok(n)
        }
    }

    #[test]
    fn spliced_replies_reach_the_socket_from_their_pipes_in_order() {
        use std::io::Read;
        let (ours, mut theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 31 + i / 999) as u8).collect();
        let total = 2 * (4 + 100_000 + 2) + 5;
        let reader = std::thread::spawn(move || {
            let mut got = vec![0u8; total];
            theirs.read_exact(&mut got).unwrap();
            got
        });
        let sock = Counting(FdSocket(&ours), std::cell::Cell::new(0));
        let o = Outbox::new(64 << 20);
        // Nothing ahead of it: from the pipes into the socket at once.
        o.send_reply(spliced(&data, 0, 100_000), &sock);
        // Behind a batch the writer holds: queued in its pipes, and the
        // writer splices it after the batch.
        o.transmit(Bytes::from_static(b"xxxxx"), |_| Err(io::ErrorKind::WouldBlock.into()));
        let mut next = pin!(o.next_batch());
        let Poll::Ready(Some(mut batch)) = poll(&mut next) else { panic!("a batch") };
        o.send_reply(spliced(&data, 100_000, 100_000), &sock);
        assert_eq!(sock.1.get(), 100_000, "the second waits for the writer");
        for round in 0.. {
            match batch.write_to(&sock) {
                Ok(0) => {
                    let mut next = pin!(o.next_batch());
                    match poll(&mut next) {
                        Poll::Ready(Some(b)) => batch = b,
                        _ => break,
                    }
                }
                Ok(n) => o.written(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
            assert!(round < 1_000_000, "the writer gets nowhere");
        }
        assert_eq!(sock.1.get(), 200_000, "both spliced, none read back");
        let got = reader.join().unwrap();
        let mut want = Vec::new();
        for half in [&data[..100_000], &data[100_000..]] {
            want.extend_from_slice(b"HEAD");
            want.extend_from_slice(half);
            want.extend_from_slice(&[0, 0]);
            if want.len() < 200_000 {
                want.extend_from_slice(b"xxxxx");
            }
        }
        assert_eq!(got.len(), want.len());
        assert!(got == want, "the bytes arrive as queued");
    }
}
