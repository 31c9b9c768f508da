//! What the core asks of its adapter.

use bytes::Bytes;

use crate::id::ConnId;
use crate::io::IoRequest;

/// What the core asks its adapter to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes (already framed) to the connection, in order.
    Transmit {
        /// The connection to write to.
        conn: ConnId,
        /// One or more whole messages with their transport framing.
        data: Bytes,
    },
    /// Flush what was queued for the connection, then close it. The core has
    /// forgotten it: later input for it is ignored.
    Close {
        /// The connection to close.
        conn: ConnId,
    },
    /// Run this storage request off the event loop (or at once, where
    /// storage never blocks) and hand its completion to
    /// `Server::handle_io`. Every request must be completed once, also
    /// when its connection has closed meanwhile.
    Io(IoRequest),
}
