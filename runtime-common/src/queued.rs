//! Per-connection output accounting shared by a connection's reader and
//! writer tasks: backpressure and the linger hand-over.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use event_listener::Event;

/// How long a closed connection keeps reading and discarding input: closing
/// a socket with unread input resets the connection, which can destroy
/// replies still in flight.
pub const LINGER: Duration = Duration::from_secs(2);

/// Counts the bytes queued for one connection. Its reader waits in
/// [`Queued::room`] while the count exceeds the limit, so a peer that does
/// not read cannot make the server buffer without bound (and no data is
/// dropped); once the writer has closed our side ([`Queued::writer_closed`])
/// the reader lingers. Runtime-independent: the waits work on any executor.
#[derive(Debug)]
pub struct Queued {
    bytes: AtomicUsize,
    limit: usize,
    drained: Event,
    closed: AtomicBool,
    closed_event: Event,
}

impl Queued {
    /// Nothing queued; reading stops while more than `limit` bytes are.
    pub fn new(limit: usize) -> Self {
        Self {
            bytes: AtomicUsize::new(0),
            limit,
            drained: Event::new(),
            closed: AtomicBool::new(false),
            closed_event: Event::new(),
        }
    }

    /// Bytes queued and not yet written.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    /// Whether more than the limit is queued (the reader should wait).
    pub fn over_limit(&self) -> bool {
        self.bytes() > self.limit
    }

    /// `n` more bytes were handed to the writer.
    pub fn queue(&self, n: usize) {
        self.bytes.fetch_add(n, Ordering::AcqRel);
    }

    /// The writer wrote `n` bytes; wakes the reader if that brought the
    /// count back within the limit.
    pub fn sent(&self, n: usize) {
        let before = self.bytes.fetch_sub(n, Ordering::AcqRel);
        if before > self.limit && before - n <= self.limit {
            self.drained.notify(usize::MAX);
        }
    }

    /// Resolves once the count is within the limit.
    pub async fn room(&self) {
        while self.over_limit() {
            // Listen before checking again, so a wake-up in between is not
            // lost.
            let listener = self.drained.listen();
            if !self.over_limit() {
                return;
            }
            listener.await;
        }
    }

    /// The writer has flushed everything and closed our side.
    pub fn writer_closed(&self) {
        self.closed.store(true, Ordering::Release);
        self.closed_event.notify(usize::MAX);
    }

    /// Resolves once [`Queued::writer_closed`] was called.
    pub async fn closed(&self) {
        while !self.closed.load(Ordering::Acquire) {
            let listener = self.closed_event.listen();
            if self.closed.load(Ordering::Acquire) {
                return;
            }
            listener.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Waker};

    fn ready(f: impl Future<Output = ()>) -> bool {
        pin!(f).poll(&mut Context::from_waker(Waker::noop())).is_ready()
    }

    #[test]
    fn the_reader_waits_above_the_limit_until_drained() {
        let q = Queued::new(10);
        q.queue(8);
        assert!(ready(q.room()));
        q.queue(8);
        assert!(q.over_limit());
        let mut room = pin!(q.room());
        let cx = &mut Context::from_waker(Waker::noop());
        assert!(room.as_mut().poll(cx).is_pending());
        q.sent(5);
        assert!(room.as_mut().poll(cx).is_pending(), "11 bytes still queued");
        q.sent(1);
        assert!(room.poll(cx).is_ready());
        assert_eq!(q.bytes(), 10);
    }

    #[test]
    fn closed_resolves_once_the_writer_closed() {
        let q = Queued::new(0);
        assert!(!ready(q.closed()));
        q.writer_closed();
        assert!(ready(q.closed()));
    }
}
