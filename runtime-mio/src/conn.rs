//! One connection: its socket, its write queue and where it is in closing.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::Instant;

use bytes::Bytes;
use mio::net::TcpStream;
use polyshare_runtime::{LINGER, WriteQueue, write_or_queue};

#[derive(Debug)]
pub(crate) struct Conn {
    pub stream: TcpStream,
    out: WriteQueue,
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
    pub fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            out: WriteQueue::new(),
            readable: true,
            writable: true,
            core_live: true,
            eof: false,
            shut: false,
            linger_until: None,
        }
    }

    /// Whether to read now: input is pending, and either the core is done
    /// (input is drained and discarded) or the queued output is within
    /// `limit` (backpressure).
    pub fn wants_read(&self, limit: usize) -> bool {
        self.readable && !self.eof && (!self.core_live || self.out.bytes() <= limit)
    }

    pub fn flushed(&self) -> bool {
        self.out.is_empty()
    }

    pub fn set_writable(&mut self) {
        self.writable = true;
    }

    /// Queues `data`, writing a small message now when nothing is queued
    /// ahead of it, so that messages leave in the order the core produced
    /// them, across connections too (see `polyshare_runtime::Outbox`).
    pub fn transmit(&mut self, data: Bytes) {
        if !self.writable {
            self.out.push(data);
            return;
        }
        let stream = &mut self.stream;
        if let Err(e) = write_or_queue(&mut self.out, data, |bufs| stream.write_vectored(bufs)) {
            // Anything else shows again in `flush`, which reports it.
            if e.kind() == io::ErrorKind::WouldBlock {
                self.writable = false;
            }
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
        while !self.out.is_empty() && self.writable {
            let stream = &mut self.stream;
            match self.out.write_with(|bufs| stream.write_vectored(bufs)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if !self.out.is_empty() || self.core_live {
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

    fn pair() -> (Conn, std::net::TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        (Conn::new(TcpStream::from_std(server)), client)
    }

    #[test]
    fn a_small_message_is_written_at_once_a_later_one_queues_behind_the_rest() {
        let (mut c, mut client) = pair();
        c.transmit(Bytes::from_static(b"break"));
        assert!(c.flushed(), "written when transmitted, not at the next flush");
        let mut got = [0u8; 5];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"break");
        c.out.push(Bytes::from_static(b"ahead"));
        c.transmit(Bytes::from_static(b"reply"));
        assert_eq!(c.out.bytes(), 10, "queued behind what is ahead of it");
        assert_eq!(c.flush(Instant::now()).unwrap(), Flushed::Open);
        let mut got = [0u8; 10];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"aheadreply");
    }

    #[test]
    fn reading_pauses_above_the_limit_and_resumes_when_drained() {
        let (mut c, mut client) = pair();
        c.out.push(Bytes::from_static(b"0123456789"));
        assert!(!c.wants_read(5), "10 bytes queued, limit 5");
        let now = Instant::now();
        assert_eq!(c.flush(now).unwrap(), Flushed::Open);
        assert!(c.wants_read(5));
        let mut got = [0u8; 10];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"0123456789");
        // Once the core is done: close after the queue empties, then linger
        // until the peer closes.
        c.out.push(Bytes::from_static(b"bye"));
        c.core_live = false;
        assert_eq!(c.flush(now).unwrap(), Flushed::Open);
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"bye");
        drop(client);
        assert_eq!(c.flush(now + LINGER).unwrap(), Flushed::Done);
    }
}
