//! The runtime-independent half of polyshare's runtime adapters. An adapter
//! (tokio, mio, async-io) keeps only its IO: listeners and streams, its
//! spawn/select/poll loop, its reads and writes. Everything else is here,
//! once:
//!
//! - start-up ([`start`]): OS entropy, the wall clock, building the
//!   [`Driver`](polyshare_core::Driver), and the recording file with its
//!   flush policy ([`RecordSink`]);
//! - listener options ([`ServerOptions`], [`BoundAddrs`], [`bind_listeners`]),
//!   and the network interfaces they stand for ([`interfaces`]), which
//!   [`start`] tells the core;
//! - the core task's events ([`Event`], [`handle_event`]) and the one place
//!   the driver's output is dispatched ([`dispatch_outputs`]);
//! - per-connection output: the write queue ([`WriteQueue`]), shared by the
//!   core task and a connection's writer ([`Outbox`]) so that small messages
//!   leave in the core's order; accounting with backpressure ([`Queued`]), the
//!   linger time ([`LINGER`]) and accept backoff ([`ACCEPT_BACKOFF`]);
//! - a blocking [`WorkerPool`] for work that must not run on an event loop;
//! - the embedder's commands to a running server ([`Control`],
//!   [`handle_control`]).

#![warn(missing_docs)]

mod control;
mod events;
pub mod interfaces;
mod options;
mod outbox;
mod pool;
mod queued;
mod start;
#[cfg(feature = "testing")]
pub mod testing;

pub use control::{Control, Inspect, handle_control};
pub use events::{
    ACCEPT_BACKOFF, Connections, EVENT_QUEUE, Event, HEAD_READ, Outputs, READ_CHUNK, ReadFramer, deliver,
    dispatch_outputs, handle_event,
};
pub use options::{BoundAddrs, ServerOptions, bind_listeners};
pub use outbox::{
    DIRECT_WRITE_MAX, FdSocket, MAX_IOVECS, Outbox, WRITE_SLICE_MAX, WorkerSocket, WriteQueue, shutdown_write,
    write_or_queue,
};
pub use pool::{Job, Lane, WorkerPool};
pub use queued::{LINGER, Queued};
pub use start::{RECORD_FLUSH, RECORD_INTERVAL, RecordSink, entropy, start};
