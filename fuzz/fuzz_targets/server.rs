//! The whole server: an op script drives one `Server` over `MemoryFs` through
//! its public API only (accept, handle_input, handle_closed, handle_timeout,
//! poll_output, poll_timeout), so it keeps compiling as the SMB and NFS
//! handlers land. Checks: no panic, every Transmit is one or more
//! well-framed messages for a live connection, nothing is sent to a
//! connection after its Close, and after handle_timeout(now) no deadline is
//! left at or before `now`.
//!
//! Script, one op after another until the input ends (see README.md):
//!
//! ```text
//! op & 0x03 == 0  feed:       slot (op >> 2) & 3; u16 LE length L; L bytes (fewer at the end)
//! op & 0x03 == 1  clock:      one byte b; b == 0 jumps to poll_timeout(), else advances b*b*10 ms;
//!                             then handle_timeout
//! op & 0x03 == 2  disconnect: slot (op >> 2) & 3: handle_closed (peer went away)
//! op & 0x03 == 3  accept:     slot (op >> 2) & 3, protocol (op >> 4) & 1 (0 SMB, 1 NFS),
//!                             privileged source port (op >> 5) & 1
//! ```
//!
//! Feeding an empty slot first accepts on it: slots 0 and 1 speak SMB, 2 and
//! 3 NFS (from a privileged port).
#![no_main]

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use polyshare_core::{Config, ConnId, MemoryFs, Output, Protocol, Server};

const SLOTS: usize = 4;
/// Ops per input: bounds the work one input can ask for.
const MAX_OPS: usize = 512;

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// Checks that `data` is a sequence of complete frames of `protocol`.
fn check_framed(protocol: Protocol, data: &[u8]) {
    let mut rest = data;
    assert!(!rest.is_empty(), "empty Transmit");
    while !rest.is_empty() {
        let Some((hdr, body)) = rest.split_first_chunk::<4>() else { panic!("partial frame header in Transmit") };
        let word = u32::from_be_bytes(*hdr);
        let len = match protocol {
            Protocol::Smb => {
                assert_eq!(hdr[0], 0, "Direct-TCP header with non-zero first byte");
                word as usize
            }
            Protocol::Nfs => {
                assert!(word & 0x8000_0000 != 0, "server sent a non-last RPC fragment");
                (word & 0x7fff_ffff) as usize
            }
        };
        assert!(body.len() >= len, "Transmit shorter than its frame header says");
        rest = &body[len..];
    }
}

struct Harness {
    server: Server,
    now: Instant,
    slots: [Option<ConnId>; SLOTS],
    /// Every connection the server knows about, with its protocol.
    live: BTreeMap<ConnId, Protocol>,
    /// Connections the server closed or the peer dropped.
    gone: Vec<ConnId>,
}

impl Harness {
    fn accept(&mut self, slot: usize, protocol: Protocol, privileged: bool) {
        let port = if privileged { 700 + slot as u16 } else { 50_000 + slot as u16 };
        let peer = SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1 + slot as u8), port));
        if let Ok(id) = self.server.accept(protocol, peer, self.now) {
            assert!(!self.live.contains_key(&id) && !self.gone.contains(&id), "connection id reused");
            self.live.insert(id, protocol);
            self.slots[slot] = Some(id);
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(out) = self.server.poll_output() {
            match out {
                Output::Transmit { conn, data } => {
                    let Some(&protocol) = self.live.get(&conn) else {
                        panic!("Transmit for unknown or closed connection {conn:?}")
                    };
                    check_framed(protocol, &data);
                }
                Output::Close { conn } => {
                    assert!(self.live.remove(&conn).is_some(), "Close for unknown or closed connection {conn:?}");
                    self.gone.push(conn);
                    for s in self.slots.iter_mut() {
                        if *s == Some(conn) {
                            *s = None;
                        }
                    }
                }
                // Storage answers at once; its reply comes out of this loop.
                Output::Io(req) => self.server.handle_io(req.run(), self.now),
            }
        }
        assert_eq!(self.server.connection_count(), self.live.len(), "connection count out of step");
    }
}

fuzz_target!(|data: &[u8]| {
    let t0 = start();
    let mut h = Harness {
        server: Server::new(Config::default(), Box::new(MemoryFs::default()), 0x5eed, t0),
        now: t0,
        slots: [None; SLOTS],
        live: BTreeMap::new(),
        gone: Vec::new(),
    };
    let mut rest = data;
    for _ in 0..MAX_OPS {
        let Some((&op, r)) = rest.split_first() else { break };
        rest = r;
        let slot = usize::from((op >> 2) & 3);
        match op & 3 {
            0 => {
                let len = match rest.split_first_chunk::<2>() {
                    Some((l, r)) => {
                        rest = r;
                        usize::from(u16::from_le_bytes(*l))
                    }
                    None => std::mem::take(&mut rest).len(),
                };
                let (bytes, r) = rest.split_at(len.min(rest.len()));
                rest = r;
                if h.slots[slot].is_none() {
                    let protocol = if slot < 2 { Protocol::Smb } else { Protocol::Nfs };
                    h.accept(slot, protocol, slot >= 2);
                }
                if let Some(id) = h.slots[slot] {
                    h.server.handle_input(id, bytes, h.now);
                }
                h.drain();
            }
            1 => {
                let Some((&b, r)) = rest.split_first() else { break };
                rest = r;
                if b == 0 {
                    if let Some(at) = h.server.poll_timeout() {
                        h.now = h.now.max(at);
                    }
                } else {
                    h.now += Duration::from_millis(u64::from(b) * u64::from(b) * 10);
                }
                h.server.handle_timeout(h.now);
                h.drain();
                if let Some(at) = h.server.poll_timeout() {
                    assert!(at > h.now, "deadline {:?} left due after handle_timeout", at - t0);
                }
            }
            2 => {
                if let Some(id) = h.slots[slot].take() {
                    h.server.handle_closed(id, h.now);
                    h.live.remove(&id);
                    h.gone.push(id);
                } else if let Some(&id) = h.gone.last() {
                    // A late close for a connection already gone is harmless.
                    h.server.handle_closed(id, h.now);
                }
                h.drain();
            }
            _ => {
                if let Some(id) = h.slots[slot].take() {
                    h.server.handle_closed(id, h.now);
                    h.live.remove(&id);
                    h.gone.push(id);
                }
                let protocol = if (op >> 4) & 1 == 0 { Protocol::Smb } else { Protocol::Nfs };
                h.accept(slot, protocol, (op >> 5) & 1 == 1);
            }
        }
    }
    // Everyone hangs up; the server must be left with nothing.
    for id in h.slots.iter_mut().filter_map(Option::take) {
        h.server.handle_closed(id, h.now);
        h.live.remove(&id);
    }
    h.drain();
    assert_eq!(h.server.connection_count(), 0, "connections left after every peer hung up");
});
