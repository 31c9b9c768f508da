//! Input recording and replay: an adapter logs every connection event, byte
//! and instant it feeds the core; replaying the log through a fresh Server
//! (same config, seed and starting tree) gives byte-identical output, so a
//! failure seen with a real client becomes a test. A recording holds the
//! seed every challenge derives from and whatever clients sent: whoever
//! writes one to a file makes it owner-only.
//!
//! Format: the magic `PSREC4\0\0`, the seed (a kind byte, 0 for a fixed
//! number or 1 for OS entropy, then 32 bytes: the number as u64 LE padded
//! with zeros, or the entropy), the wall anchor (the
//! wall-clock time at the Server's start: seconds since the Unix epoch as i64
//! LE and nanoseconds as u32 LE), then events, each a tag
//! byte, the time since the Server's start in nanoseconds (u64 LE) and:
//! - 1 accept: protocol u8 (0 SMB, 1 NFS), conn u64, peer as text (u16 len + bytes)
//! - 2 input: conn u64, u32 len + bytes
//! - 3 closed: conn u64
//! - 4 timeout: nothing more
//! - 5 io done: request id u64
//! - 6 unframeable: conn u64
//! - 7 reconfigure: u32 len + the shares, exports and users (`reconfigure.rs`)
//!
//! `PSREC3` recordings (before reloads existed, the same layout without tag
//! 7) decode as well.

mod reconfigure;

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Buf, BufMut, BytesMut};

use crate::config::{Config, Reconfigure};
use crate::id::{ConnId, Protocol};
use crate::output::Output;
use crate::rng::Seed;
use crate::server::Server;
use crate::time::Timespec;
use crate::vfs::Vfs;

const MAGIC: &[u8; 8] = b"PSREC4\0\0";
/// The format before tag 7, still read.
const MAGIC_V3: &[u8; 8] = b"PSREC3\0\0";
const SEED_LEN: usize = 1 + 32;
const HEADER_LEN: usize = 8 + SEED_LEN + 12;

/// One input the adapter gave the core, as recorded; each maps to one
/// `Server` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// [`Server::accept`] succeeded.
    Accept {
        /// The id the recorded server assigned; a replay maps it to the id
        /// its own server assigns.
        conn: ConnId,
        /// The protocol the listener serves.
        protocol: Protocol,
        /// The client's address (export access and MOUNT use it).
        peer: SocketAddr,
    },
    /// Bytes received ([`Server::handle_input`]), as read from the socket,
    /// framing included (a frame the adapter delimited itself is recorded
    /// with its framing restored, see [`Recorder::record_frame`]).
    Input {
        /// The connection they arrived on.
        conn: ConnId,
        /// The bytes, in whatever chunk the adapter received them.
        data: Vec<u8>,
    },
    /// The peer closed the connection or it failed ([`Server::handle_closed`]).
    Closed {
        /// The connection that went away.
        conn: ConnId,
    },
    /// A timer deadline was reached ([`Server::handle_timeout`]).
    Timeout,
    /// The completion of storage request `id` was handed to the core; a
    /// replay runs the request there, against its own storage.
    IoDone {
        /// The [`IoId`](crate::IoId) of the request, as a number.
        id: u64,
    },
    /// The adapter found `conn`'s input unframeable
    /// ([`Server::handle_unframeable`]).
    Unframeable {
        /// The connection whose input could not be framed.
        conn: ConnId,
    },
    /// An administrator's reload ([`Server::handle_reconfigure`]).
    Reconfigure(Reconfigure),
}

/// Encodes events into an in-memory buffer; the adapter drains it to a file
/// with [`Recorder::take`].
#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    buf: BytesMut,
}

impl Recorder {
    /// `seed` and `wall_anchor` are the ones the Server was built with, `start`
    /// the instant given to `Server::new`.
    pub fn new(seed: Seed, wall_anchor: SystemTime, start: Instant) -> Self {
        let mut buf = BytesMut::new();
        buf.put_slice(MAGIC);
        let mut key = [0u8; 32];
        let kind = match seed {
            Seed::Fixed(n) => {
                key[..8].copy_from_slice(&n.to_le_bytes());
                0
            }
            Seed::Entropy(e) => {
                key = e;
                1
            }
        };
        buf.put_u8(kind);
        buf.put_slice(&key);
        let anchor = Timespec::from_system(wall_anchor);
        buf.put_i64_le(anchor.secs);
        buf.put_u32_le(anchor.nanos);
        Self { start, buf }
    }

    /// Appends `event`, stamped with `now` as an offset from the start.
    pub fn record(&mut self, event: &Event, now: Instant) {
        let tag = match event {
            Event::Accept { .. } => 1,
            Event::Input { .. } => 2,
            Event::Closed { .. } => 3,
            Event::Timeout => 4,
            Event::IoDone { .. } => 5,
            Event::Unframeable { .. } => 6,
            Event::Reconfigure(_) => 7,
        };
        self.header(tag, now);
        match event {
            Event::Accept { conn, protocol, peer } => {
                self.buf.put_u8(match protocol {
                    Protocol::Smb => 0,
                    Protocol::Nfs => 1,
                });
                self.buf.put_u64_le(conn.0);
                let p = peer.to_string();
                self.buf.put_u16_le(p.len() as u16);
                self.buf.put_slice(p.as_bytes());
            }
            Event::Input { conn, data } => self.input_body(*conn, data),
            Event::Closed { conn } => self.buf.put_u64_le(conn.0),
            Event::Timeout => {}
            Event::IoDone { id } => self.buf.put_u64_le(*id),
            Event::Unframeable { conn } => self.buf.put_u64_le(conn.0),
            Event::Reconfigure(r) => {
                let mut body = BytesMut::new();
                reconfigure::encode(r, &mut body);
                self.buf.put_u32_le(body.len() as u32);
                self.buf.put_slice(&body);
            }
        }
    }

    /// Records a whole frame as the `Event::Input` of its framed bytes (a
    /// replay frames them again).
    pub fn record_frame(&mut self, conn: ConnId, transport: crate::framing::Transport, frame: &[u8], now: Instant) {
        self.record_input(conn, &crate::framing::encode_frame(transport, frame), now);
    }

    /// Records `Event::Input` without copying the bytes into an event first.
    pub fn record_input(&mut self, conn: ConnId, data: &[u8], now: Instant) {
        self.header(2, now);
        self.input_body(conn, data);
    }

    /// Bytes recorded and not yet taken.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    fn header(&mut self, tag: u8, now: Instant) {
        self.buf.put_u8(tag);
        self.buf.put_u64_le(now.saturating_duration_since(self.start).as_nanos() as u64);
    }

    fn input_body(&mut self, conn: ConnId, data: &[u8]) {
        self.buf.put_u64_le(conn.0);
        self.buf.put_u32_le(data.len() as u32);
        self.buf.put_slice(data);
    }

    /// Takes what was recorded since the last call.
    pub fn take(&mut self) -> BytesMut {
        self.buf.split()
    }
}

/// Why [`Recording::decode`] rejected its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The data does not start with the `PSREC4` (or `PSREC3`) magic (not a
    /// recording, or one from an incompatible format version).
    #[error("not a polyshare recording")]
    BadMagic,
    /// The data ends inside the header or an event; the byte offset where
    /// decoding ran out.
    #[error("recording truncated at byte {0}")]
    Truncated(usize),
    /// An event tag outside 1..=7 (1..=6 in a `PSREC3` recording).
    #[error("unknown event tag {0}")]
    BadTag(u8),
    /// A seed kind other than 0 (fixed) or 1 (entropy).
    #[error("unknown seed kind {0}")]
    BadSeed(u8),
    /// An accept event whose peer is not a valid `ip:port` text.
    #[error("bad peer address in recording")]
    BadPeer,
    /// The header's wall anchor is not a representable `SystemTime`
    /// (nanoseconds of a billion or more, or out of the platform's range).
    #[error("wall anchor out of range")]
    BadAnchor,
    /// A reconfigure event whose body does not decode; its byte offset.
    #[error("bad reconfigure event at byte {0}")]
    BadReconfigure(usize),
}

fn system_time(secs: i64, nanos: u32) -> Option<SystemTime> {
    if nanos >= 1_000_000_000 {
        return None;
    }
    let t = if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    };
    t?.checked_add(Duration::from_nanos(nanos.into()))
}

/// A decoded recording: the seed and the events with their offsets from the
/// Server's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// The seed the recorded server was built with.
    pub seed: Seed,
    /// [`Config::wall_anchor`] of the recorded server.
    pub wall_anchor: SystemTime,
    /// The events in order, each with its time since the server's start.
    pub events: Vec<(Duration, Event)>,
}

impl Recording {
    /// Parses a recording as [`Recorder`] wrote it (possibly concatenated
    /// from several [`Recorder::take`] calls).
    pub fn decode(data: &[u8]) -> Result<Self, RecordError> {
        let mut b = data;
        let v3 = b.get(..8) == Some(&MAGIC_V3[..]);
        if b.get(..8) != Some(&MAGIC[..]) && !v3 {
            return Err(RecordError::BadMagic);
        }
        if b.len() < HEADER_LEN {
            return Err(RecordError::Truncated(b.len()));
        }
        b.advance(8);
        let kind = b.get_u8();
        let mut key = [0u8; 32];
        b.copy_to_slice(&mut key);
        let seed = match kind {
            0 => Seed::Fixed((&key[..8]).get_u64_le()),
            1 => Seed::Entropy(key),
            k => return Err(RecordError::BadSeed(k)),
        };
        let secs = b.get_i64_le();
        let nanos = b.get_u32_le();
        let wall_anchor = system_time(secs, nanos).ok_or(RecordError::BadAnchor)?;
        let mut events = Vec::new();
        let at = |b: &[u8]| data.len() - b.len();
        while !b.is_empty() {
            if b.remaining() < 9 {
                return Err(RecordError::Truncated(at(b)));
            }
            let tag = b.get_u8();
            let t = Duration::from_nanos(b.get_u64_le());
            let ev = match tag {
                1 => {
                    if b.remaining() < 11 {
                        return Err(RecordError::Truncated(at(b)));
                    }
                    let protocol = if b.get_u8() == 0 { Protocol::Smb } else { Protocol::Nfs };
                    let conn = ConnId(b.get_u64_le());
                    let n = b.get_u16_le() as usize;
                    let s = b.get(..n).ok_or(RecordError::Truncated(at(b)))?;
                    let peer = std::str::from_utf8(s).ok().and_then(|s| s.parse().ok()).ok_or(RecordError::BadPeer)?;
                    b.advance(n);
                    Event::Accept { conn, protocol, peer }
                }
                2 => {
                    if b.remaining() < 12 {
                        return Err(RecordError::Truncated(at(b)));
                    }
                    let conn = ConnId(b.get_u64_le());
                    let n = b.get_u32_le() as usize;
                    let d = b.get(..n).ok_or(RecordError::Truncated(at(b)))?.to_vec();
                    b.advance(n);
                    Event::Input { conn, data: d }
                }
                3 => {
                    if b.remaining() < 8 {
                        return Err(RecordError::Truncated(at(b)));
                    }
                    Event::Closed { conn: ConnId(b.get_u64_le()) }
                }
                4 => Event::Timeout,
                5 | 6 => {
                    if b.remaining() < 8 {
                        return Err(RecordError::Truncated(at(b)));
                    }
                    match tag {
                        5 => Event::IoDone { id: b.get_u64_le() },
                        _ => Event::Unframeable { conn: ConnId(b.get_u64_le()) },
                    }
                }
                7 if !v3 => {
                    if b.remaining() < 4 {
                        return Err(RecordError::Truncated(at(b)));
                    }
                    let n = b.get_u32_le() as usize;
                    let body = b.get(..n).ok_or(RecordError::Truncated(at(b)))?;
                    let r = reconfigure::decode(body).ok_or(RecordError::BadReconfigure(at(b)))?;
                    b.advance(n);
                    Event::Reconfigure(r)
                }
                other => return Err(RecordError::BadTag(other)),
            };
            events.push((t, ev));
        }
        Ok(Self { seed, wall_anchor, events })
    }

    /// A fresh Server for [`Recording::replay`]: `config` (the one the
    /// recorded server ran with) gets the recorded wall anchor, and the
    /// server the recorded seed.
    pub fn server(&self, mut config: Config, vfs: Box<dyn Vfs>, start: Instant) -> Server {
        config.wall_anchor = self.wall_anchor;
        Server::with_seed(config, vfs, self.seed, start)
    }

    /// Feeds the events to `server` (built with this recording's seed and
    /// `start`) and returns every output in order. Connection ids in the
    /// recording are mapped to the ones the fresh server assigns.
    pub fn replay(&self, server: &mut Server, start: Instant) -> Vec<Output> {
        let mut map = std::collections::BTreeMap::new();
        let mut io = std::collections::BTreeMap::new();
        let mut out = Vec::new();
        for (t, ev) in &self.events {
            let now = start + *t;
            match ev {
                Event::Accept { conn, protocol, peer } => {
                    if let Ok(id) = server.accept(*protocol, *peer, now) {
                        map.insert(*conn, id);
                    }
                }
                Event::Input { conn, data } => {
                    if let Some(id) = map.get(conn) {
                        server.handle_input(*id, data, now);
                    }
                }
                Event::Closed { conn } => {
                    if let Some(id) = map.get(conn) {
                        server.handle_closed(*id, now);
                    }
                }
                Event::Timeout => server.handle_timeout(now),
                Event::Unframeable { conn } => {
                    if let Some(id) = map.get(conn) {
                        server.handle_unframeable(*id, now);
                    }
                }
                Event::Reconfigure(r) => server.handle_reconfigure(r.clone(), now),
                Event::IoDone { id } => {
                    if let Some(req) = io.remove(id) {
                        server.handle_io(crate::io::IoRequest::run(req), now);
                    }
                }
            }
            // Storage requests run when their completion was recorded.
            for o in std::iter::from_fn(|| server.poll_output()) {
                match o {
                    Output::Io(req) => {
                        io.insert(req.id().0, req);
                    }
                    o => out.push(o),
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip() {
        let t0 = Instant::now();
        let anchor = UNIX_EPOCH + Duration::new(1_767_225_600, 123);
        let mut r = Recorder::new(Seed::Entropy([42; 32]), anchor, t0);
        let evs = vec![
            Event::Accept { conn: ConnId(1), protocol: Protocol::Nfs, peer: "127.0.0.1:999".parse().unwrap() },
            Event::Input { conn: ConnId(1), data: vec![1, 2, 3] },
            Event::Timeout,
            Event::Reconfigure(Reconfigure {
                users: vec![crate::config::User::new("u", "p")],
                ..Reconfigure::default()
            }),
            Event::Closed { conn: ConnId(1) },
        ];
        for (i, e) in evs.iter().enumerate() {
            r.record(e, t0 + Duration::from_millis(i as u64));
        }
        let rec = Recording::decode(&r.take()).unwrap();
        assert_eq!(rec.seed, Seed::Entropy([42; 32]));
        assert_eq!(rec.wall_anchor, anchor);
        assert_eq!(rec.events.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(), evs);
        assert_eq!(rec.events[4].0, Duration::from_millis(4));
    }

    #[test]
    fn version_3_recordings_still_decode_without_reloads() {
        let t0 = Instant::now();
        let mut r = Recorder::new(Seed::Fixed(3), UNIX_EPOCH, t0);
        r.record(&Event::Timeout, t0);
        let mut v3 = r.take().to_vec();
        v3[..8].copy_from_slice(MAGIC_V3);
        assert_eq!(Recording::decode(&v3).unwrap().events, vec![(Duration::ZERO, Event::Timeout)]);
        let mut r = Recorder::new(Seed::Fixed(3), UNIX_EPOCH, t0);
        r.record(&Event::Reconfigure(Reconfigure::default()), t0);
        let mut v3 = r.take().to_vec();
        v3[..8].copy_from_slice(MAGIC_V3);
        assert_eq!(Recording::decode(&v3), Err(RecordError::BadTag(7)));
    }

    #[test]
    fn truncated_recordings_are_errors() {
        let t0 = Instant::now();
        let mut r = Recorder::new(Seed::Fixed(1), UNIX_EPOCH - Duration::new(5, 7), t0);
        r.record_input(ConnId(1), &[9; 10], t0);
        let data = r.take();
        for cut in 0..data.len() {
            if cut == HEADER_LEN {
                continue; // header alone: a valid empty recording
            }
            assert!(Recording::decode(&data[..cut]).is_err(), "cut at {cut}");
        }
        let rec = Recording::decode(&data).unwrap();
        assert_eq!(rec.seed, Seed::Fixed(1));
        let mut bad = data.to_vec();
        bad[8] = 2;
        assert_eq!(Recording::decode(&bad), Err(RecordError::BadSeed(2)));
        assert_eq!(rec.wall_anchor, UNIX_EPOCH - Duration::new(5, 7));
        assert_eq!(rec.events, vec![(Duration::ZERO, Event::Input { conn: ConnId(1), data: vec![9; 10] })]);
    }
}
