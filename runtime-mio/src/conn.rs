//! One connection: its socket, its write queue and where it is in closing.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use mio::net::TcpStream;
use polyshare_runtime::{FdSocket, LINGER, Outbox};

#[derive(Debug)]
pub(crate) struct Conn {
    pub stream: TcpStream,
    /// Shared with the storage workers that write READ replies
    /// (`Outbox::send_now`); the loop is its writer.
    out: Arc<Outbox>,
    /// The socket for those workers: the same one, through a descriptor of
    /// their own, made when the first storage request is handed out.
    worker_stream: Option<Arc<std::net::TcpStream>>,
    /// Readiness not yet used up (mio is edge-triggered: set by an event,
    /// cleared by `WouldBlock`).
    pub readable: bool,
    writable: bool,
    /// The core knows this connection; once false, input is discarded and
    /// the connection closes when its queue is empty.
    pub core_live: bool,
    /// The peer closed its side.
    pub eof: bool,
    shut: bool,
    pub linger_until: Option<Instant>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flushed {
    Open,
    /// Closed and done lingering: drop it.
    Done,
}

impl Conn {
    /// A connection whose reading pauses while more than `limit` bytes are
    /// queued for it.
    pub fn new(stream: TcpStream, limit: usize) -> Self {
        Self {
            stream,
            out: Arc::new(Outbox::new(limit)),
            worker_stream: None,
            readable: true,
            writable: true,
            core_live: true,
            eof: false,
            shut: false,
            linger_until: None,
        }
    }

    /// Whether to read now: input is pending, and either the core is done
    /// (input is drained and discarded) or the queued output is within the
    /// limit (backpressure).
    pub fn wants_read(&self) -> bool {
        self.readable && !self.eof && (!self.core_live || !self.out.queued().over_limit())
    }

    pub fn flushed(&self) -> bool {
        self.out.is_idle()
    }

    /// The outbox and socket a storage worker writes a reply with, or
    /// `None` if no descriptor can be had for it (the core then sends the
    /// reply).
    pub fn for_worker(&mut self) -> Option<(Arc<Outbox>, Arc<std::net::TcpStream>)> {
        if self.worker_stream.is_none() {
            let fd = self.stream.as_fd().try_clone_to_owned().ok()?;
            self.worker_stream = Some(Arc::new(std::net::TcpStream::from(fd)));
        }
        Some((self.out.clone(), self.worker_stream.clone()?))
    }

    pub fn set_writable(&mut self) {
        self.writable = true;
    }

    /// Queues `data`, writing a small message now when nothing is queued
    /// ahead of it, so that messages leave in the order the core produced
    /// them, across connections too (see `polyshare_runtime::Outbox`).
    pub fn transmit(&mut self, data: Bytes) {
        if !self.writable {
            self.out.transmit(data, |_| Err(io::ErrorKind::WouldBlock.into()));
            return;
        }
        let stream = &self.stream;
        let mut blocked = false;
        self.out.transmit(data, |bufs| {
            // Anything else shows again in `flush`, which reports it.
            let r = (&*stream).write_vectored(bufs);
            blocked = matches!(&r, Err(e) if e.kind() == io::ErrorKind::WouldBlock);
            r
        });
        if blocked {
            self.writable = false;
        }
    }

    /// Reads once into `buf`: `Ok(n)` with n > 0 for data, 0 when there is
    /// nothing (for now, or any more: see `eof`).
    pub fn read_into(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.stream.read(buf) {
            Ok(0) => {
                self.eof = true;
                self.readable = false;
                Ok(0)
            }
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.readable = false;
                Ok(0)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Writes what the socket takes; once the core is done and the queue is
    /// empty, closes our side and lingers.
    pub fn flush(&mut self, now: Instant) -> io::Result<Flushed> {
        if let Some(mut batch) = self.writable.then(|| self.out.take_batch()).flatten() {
            let mut failed = None;
            while !batch.is_empty() {
                let stream = &self.stream;
                match batch.write_to(&FdSocket(stream)) {
                    Ok(n) => self.out.written(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.writable = false;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            self.out.give_back(batch);
            if let Some(e) = failed {
                return Err(e);
            }
        }
        if !self.out.is_idle() || self.core_live {
            return Ok(Flushed::Open);
        }
        if !self.shut {
            self.shut = true;
            // Fails only if the peer is already gone, which is fine.
            let _ = self.stream.shutdown(Shutdown::Write);
            self.linger_until = Some(now + LINGER);
        }
        let lingered = self.linger_until.is_some_and(|t| t <= now);
        Ok(if self.eof || lingered { Flushed::Done } else { Flushed::Open })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(limit: usize) -> (Conn, std::net::TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        (Conn::new(TcpStream::from_std(server), limit), client)
    }

    /// Queues `data` without writing (as when the socket would block).
    fn queue(c: &Conn, data: &'static [u8]) {
        c.out.transmit(Bytes::from_static(data), |_| Err(io::ErrorKind::WouldBlock.into()));
    }

    #[test]
    fn a_small_message_is_written_at_once_a_later_one_queues_behind_the_rest() {
        let (mut c, mut client) = pair(1 << 20);
        c.transmit(Bytes::from_static(b"break"));
        assert!(c.flushed(), "written when transmitted, not at the next flush");
        let mut got = [0u8; 5];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"break");
        queue(&c, b"ahead");
        c.transmit(Bytes::from_static(b"reply"));
        assert_eq!(c.out.queued().bytes(), 10, "queued behind what is ahead of it");
        assert_eq!(c.flush(Instant::now()).unwrap(), Flushed::Open);
        let mut got = [0u8; 10];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"aheadreply");
    }

    #[test]
    fn reading_pauses_above_the_limit_and_resumes_when_drained() {
        let (mut c, mut client) = pair(5);
        queue(&c, b"0123456789");
        assert!(!c.wants_read(), "10 bytes queued, limit 5");
        let now = Instant::now();
        assert_eq!(c.flush(now).unwrap(), Flushed::Open);
        assert!(c.wants_read());
        let mut got = [0u8; 10];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"0123456789");
        // Once the core is done: close after the queue empties, then linger
        // until the peer closes.
        queue(&c, b"bye");
        c.core_live = false;
        assert_eq!(c.flush(now).unwrap(), Flushed::Open);
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"bye");
        drop(client);
        assert_eq!(c.flush(now + LINGER).unwrap(), Flushed::Done);
    }

    #[test]
    fn a_worker_writes_a_large_reply_on_the_connection_in_order() {
        let (mut c, mut client) = pair(1 << 20);
        queue(&c, b"ahead");
        let (outbox, stream) = c.for_worker().expect("a descriptor for the worker");
        let big = Bytes::from(vec![3u8; 300_000]);
        let reader = std::thread::spawn(move || {
            let mut got = vec![0u8; 5 + 300_000 + 4];
            client.read_exact(&mut got).unwrap();
            got
        });
        outbox.send_now(big.clone(), |bufs| (&*stream).write_vectored(bufs));
        c.transmit(Bytes::from_static(b"echo"));
        while !c.flushed() {
            c.set_writable();
            c.flush(Instant::now()).unwrap();
        }
        let got = reader.join().unwrap();
        assert_eq!(&got[..5], b"ahead");
        assert_eq!(&got[5..300_005], &big[..]);
        assert_eq!(&got[300_005..], b"echo");
    }
}
