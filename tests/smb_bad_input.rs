//! Bad SMB input gets an error response or closes only its own connection;
//! another client is served throughout (the simulation, no sockets).

use std::time::Instant;

use polyshare_core::testing::sim::Sim;
use polyshare_core::{ConnId, Protocol};

const ECHO: u16 = 0x0D;
const CREATE: u16 = 0x05;
const STATUS_SUCCESS: u32 = 0;

fn header(cmd: u16, mid: u64, next: u32) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\xfeSMB");
    h[4..6].copy_from_slice(&64u16.to_le_bytes());
    h[12..14].copy_from_slice(&cmd.to_le_bytes());
    h[14..16].copy_from_slice(&8u16.to_le_bytes());
    h[20..24].copy_from_slice(&next.to_le_bytes());
    h[24..32].copy_from_slice(&mid.to_le_bytes());
    h
}

fn negotiate() -> Vec<u8> {
    let mut m = header(0, 0, 0);
    let mut body = vec![0u8; 36];
    body[..2].copy_from_slice(&36u16.to_le_bytes());
    body[2..4].copy_from_slice(&2u16.to_le_bytes());
    body[4] = 1;
    body[12..28].copy_from_slice(&[7u8; 16]);
    m.extend_from_slice(&body);
    m.extend_from_slice(&0x0202u16.to_le_bytes());
    m.extend_from_slice(&0x0210u16.to_le_bytes());
    m
}

fn echo(mid: u64) -> Vec<u8> {
    let mut m = header(ECHO, mid, 0);
    m.extend_from_slice(&[4, 0, 0, 0]);
    m
}

fn status(frame: &[u8]) -> u32 {
    u32::from_le_bytes([frame[8], frame[9], frame[10], frame[11]])
}

/// A negotiated connection, ready for requests from MessageId 1.
fn negotiated(sim: &mut Sim) -> ConnId {
    let c = sim.connect(Protocol::Smb);
    sim.send_frame(c, &negotiate());
    let r = sim.recv_one(c);
    assert_eq!(status(&r), STATUS_SUCCESS, "NEGOTIATE failed");
    c
}

/// The bad connection either answered every message with an error status
/// or was closed; nothing it got is a success.
fn refused(sim: &mut Sim, c: ConnId, what: &str) {
    let frames = sim.recv(c);
    let closed = sim.is_closed(c);
    assert!(closed || !frames.is_empty(), "{what}: neither an error response nor a close");
    for f in &frames {
        assert!(f.len() >= 64, "{what}: short response");
        assert_ne!(status(f), STATUS_SUCCESS, "{what}: answered with success");
    }
}

struct Good {
    conn: ConnId,
    mid: u64,
}

impl Good {
    fn still_served(&mut self, sim: &mut Sim, after: &str) {
        self.mid += 1;
        sim.send_frame(self.conn, &echo(self.mid));
        let r = sim.recv_one(self.conn);
        assert_eq!(status(&r), STATUS_SUCCESS, "the other client was not served after {after}");
    }
}

#[test]
fn malformed_smb_messages_harm_only_their_own_connection() {
    let mut sim = Sim::with_memory(3, Instant::now());
    let conn = negotiated(&mut sim);
    let mut good = Good { conn, mid: 0 };
    good.still_served(&mut sim, "start");

    // A header cut short.
    let c = negotiated(&mut sim);
    sim.send_frame(c, &echo(1)[..40]);
    refused(&mut sim, c, "truncated header");
    good.still_served(&mut sim, "truncated header");

    // A wrong StructureSize.
    let c = negotiated(&mut sim);
    let mut m = echo(1);
    m[64] = 5;
    sim.send_frame(c, &m);
    refused(&mut sim, c, "wrong StructureSize");
    good.still_served(&mut sim, "wrong StructureSize");

    // A CREATE whose name offset and length point outside the message.
    let c = negotiated(&mut sim);
    let mut m = header(CREATE, 1, 0);
    let mut body = vec![0u8; 57];
    body[..2].copy_from_slice(&57u16.to_le_bytes());
    body[44..46].copy_from_slice(&0x7000u16.to_le_bytes());
    body[46..48].copy_from_slice(&0x0100u16.to_le_bytes());
    m.extend_from_slice(&body);
    sim.send_frame(c, &m);
    refused(&mut sim, c, "offsets outside the message");
    good.still_served(&mut sim, "offsets outside the message");

    // A compound whose NextCommand points back into the first header (a
    // loop), and one whose NextCommand runs past the end of the frame.
    for (next, what) in [(8u32, "compound loop"), (4096u32, "compound overrun")] {
        let c = negotiated(&mut sim);
        let mut m = header(ECHO, 1, next);
        m.extend_from_slice(&[4, 0, 0, 0, 0, 0, 0, 0]);
        m.extend_from_slice(&echo(2));
        sim.send_frame(c, &m);
        refused(&mut sim, c, what);
        good.still_served(&mut sim, what);
    }

    // 10 MiB of random bytes, raw and inside one well-framed message.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..10 * 1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let c = negotiated(&mut sim);
    for chunk in noise.chunks(64 * 1024) {
        sim.send(c, chunk);
    }
    refused(&mut sim, c, "10 MiB of random bytes");
    good.still_served(&mut sim, "10 MiB of random bytes");
    let c = negotiated(&mut sim);
    sim.send_frame(c, &noise);
    refused(&mut sim, c, "a 10 MiB frame of random bytes");
    good.still_served(&mut sim, "a 10 MiB frame of random bytes");
    let mut with_header = header(ECHO, 1, 0);
    with_header.extend_from_slice(&noise[..1 << 20]);
    let c = negotiated(&mut sim);
    sim.send_frame(c, &with_header);
    refused(&mut sim, c, "an ECHO followed by 1 MiB of noise");
    good.still_served(&mut sim, "an ECHO followed by 1 MiB of noise");

    assert!(!sim.is_closed(good.conn));
}
