//! Transport framing for both protocols, fed with bytes in any chunking.
//!
//! SMB over TCP: each message is prefixed by the 4-byte Direct-TCP header, a
//! zero byte and a 24-bit big-endian length (MS-SMB2 2.1).
//! ONC RPC over TCP: record marking (RFC 5531 11), a 4-byte big-endian word
//! per fragment whose top bit marks the last fragment of a record.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// SMB messages at least this long are handed out owning their buffer
/// ([`Framer::next_frame`]); smaller ones are slices of a shared one. The
/// bytes of the next message that arrived with a large one are copied:
/// at most one read's worth, against the large message's whole length.
const OWN_BUFFER_FRAME: usize = 64 * 1024;

/// How a protocol delimits messages on a TCP stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// SMB2/3: Direct-TCP transport (MS-SMB2 2.1), one message per 4-byte
    /// header (a zero byte and a 24-bit length), so at most 16 MiB - 1.
    SmbDirectTcp,
    /// ONC RPC (NFS, MOUNT, portmapper): record marking (RFC 5531 11), a
    /// record split into fragments each led by a 31-bit length and a
    /// last-fragment bit.
    RpcRecordMarking,
}

/// Why a stream cannot be framed; the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A message, or an RPC record's fragments so far, is longer than
    /// [`Limits::max_frame`](crate::config::Limits::max_frame).
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Length announced by the header(s), in bytes, headers excluded.
        len: usize,
        /// The limit the framer was built with.
        max: usize,
    },
    /// A Direct-TCP header whose first byte is not zero (MS-SMB2 2.1): the
    /// stream is not SMB2, or lost sync.
    #[error("Direct-TCP header with non-zero first byte {0:#04x}")]
    BadDirectTcpHeader(u8),
}

/// Reassembles frames from a byte stream; holds at most one frame's worth of
/// bytes beyond what it has handed out.
#[derive(Debug)]
pub struct Framer {
    transport: Transport,
    max: usize,
    buf: BytesMut,
    /// RPC: fragments of the record being assembled.
    record: BytesMut,
    failed: bool,
}

impl Framer {
    /// A framer for `transport` that refuses frames longer than `max` bytes
    /// (headers and record marks not counted).
    pub fn new(transport: Transport, max: usize) -> Self {
        Self { transport, max, buf: BytesMut::new(), record: BytesMut::new(), failed: false }
    }

    /// Appends bytes received from the stream (copying them). Ignored once
    /// [`Framer::next_frame`] has returned an error.
    pub fn push(&mut self, data: &[u8]) {
        if !self.failed {
            self.buf.extend_from_slice(data);
        }
    }

    /// The buffer to read the stream into directly (instead of
    /// [`Framer::push`], which copies): room for at least `chunk` bytes, or
    /// for the rest of the frame being received when that is more, so a
    /// large message lands in one buffer and leaves as a slice of it.
    pub fn read_buf(&mut self, chunk: usize) -> &mut BytesMut {
        let rest = self.frame_rest().min(self.max.saturating_add(4));
        self.buf.reserve(rest.max(chunk));
        &mut self.buf
    }

    /// Bytes still missing from the frame whose header has arrived (0 when
    /// no header is complete).
    fn frame_rest(&self) -> usize {
        let Some(hdr) = self.buf.get(..4) else { return 0 };
        let len = match self.transport {
            Transport::SmbDirectTcp => u32::from_be_bytes([0, hdr[1], hdr[2], hdr[3]]),
            Transport::RpcRecordMarking => u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) & 0x7fff_ffff,
        } as usize;
        len.saturating_add(4).saturating_sub(self.buf.len())
    }

    /// Bytes held that do not yet form a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() + self.record.len()
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        if self.failed {
            return Ok(None);
        }
        let r = match self.transport {
            Transport::SmbDirectTcp => self.next_smb(),
            Transport::RpcRecordMarking => self.next_rpc(),
        };
        if r.is_err() {
            self.failed = true;
            self.buf.clear();
            self.record.clear();
        }
        r
    }

    fn next_smb(&mut self) -> Result<Option<Bytes>, FrameError> {
        let Some(hdr) = self.buf.get(..4) else { return Ok(None) };
        if hdr[0] != 0 {
            return Err(FrameError::BadDirectTcpHeader(hdr[0]));
        }
        let len = u32::from_be_bytes([0, hdr[1], hdr[2], hdr[3]]) as usize;
        if len > self.max {
            return Err(FrameError::TooLarge { len, max: self.max });
        }
        if self.buf.len() < 4 + len {
            // No reservation ahead of the bytes: a header alone must not make
            // the server hold `len` bytes per connection.
            return Ok(None);
        }
        Ok(Some(self.take_frame(len)))
    }

    /// The message of `len` bytes behind the 4-byte header at the front of
    /// the buffer. A large one leaves as the buffer itself, the few bytes
    /// read after it moved to a new buffer: it is then the only owner of its
    /// storage, so a worker can decrypt it in place (`Bytes::try_into_mut`)
    /// instead of copying it whole; a slice of a shared buffer never is.
    fn take_frame(&mut self, len: usize) -> Bytes {
        if len >= OWN_BUFFER_FRAME {
            let rest = BytesMut::from(&self.buf[4 + len..]);
            self.buf.truncate(4 + len);
            let mut frame = std::mem::replace(&mut self.buf, rest);
            frame.advance(4);
            return frame.freeze();
        }
        self.buf.advance(4);
        self.buf.split_to(len).freeze()
    }

    fn next_rpc(&mut self) -> Result<Option<Bytes>, FrameError> {
        loop {
            let Some(hdr) = self.buf.get(..4) else { return Ok(None) };
            let word = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            let last = word & 0x8000_0000 != 0;
            let len = (word & 0x7fff_ffff) as usize;
            let total = self.record.len().saturating_add(len);
            if total > self.max {
                return Err(FrameError::TooLarge { len: total, max: self.max });
            }
            if self.buf.len() < 4 + len {
                return Ok(None);
            }
            self.buf.advance(4);
            let frag = self.buf.split_to(len);
            if last {
                if self.record.is_empty() {
                    return Ok(Some(frag.freeze()));
                }
                self.record.extend_from_slice(&frag);
                return Ok(Some(self.record.split().freeze()));
            }
            self.record.extend_from_slice(&frag);
        }
    }
}

/// Prefixes `body` for the wire: one Direct-TCP header, or one last-fragment
/// record mark.
pub fn encode_frame(transport: Transport, body: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(4 + body.len());
    match transport {
        Transport::SmbDirectTcp => out.put_u32(body.len() as u32 & 0x00ff_ffff),
        Transport::RpcRecordMarking => out.put_u32(0x8000_0000 | (body.len() as u32 & 0x7fff_ffff)),
    }
    out.extend_from_slice(body);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    fn frames(f: &mut Framer) -> Vec<Bytes> {
        std::iter::from_fn(|| f.next_frame().ok().flatten()).collect()
    }

    #[test]
    fn smb_frames_in_any_chunking() {
        let mut stream = Vec::new();
        stream.extend_from_slice(&encode_frame(Transport::SmbDirectTcp, b"hello"));
        stream.extend_from_slice(&encode_frame(Transport::SmbDirectTcp, b""));
        stream.extend_from_slice(&encode_frame(Transport::SmbDirectTcp, b"world!"));
        for chunk in 1..stream.len() {
            let mut f = Framer::new(Transport::SmbDirectTcp, 1024);
            let mut got = Vec::new();
            for c in stream.chunks(chunk) {
                f.push(c);
                got.extend(frames(&mut f));
            }
            assert_eq!(got, vec![&b"hello"[..], b"", b"world!"], "chunk size {chunk}");
        }
    }

    /// A large message is the only owner of its bytes (so it can be
    /// decrypted in place), even when the next message's first bytes were
    /// read with it; those still frame correctly.
    #[test]
    fn large_smb_frame_owns_its_buffer() {
        let big: Vec<u8> = (0..OWN_BUFFER_FRAME + 100).map(|i| i as u8).collect();
        let mut stream = encode_frame(Transport::SmbDirectTcp, &big).to_vec();
        stream.extend_from_slice(&encode_frame(Transport::SmbDirectTcp, b"next"));
        let mut f = Framer::new(Transport::SmbDirectTcp, 1 << 20);
        let (first, second) = stream.split_at(stream.len() - 3);
        f.read_buf(0).extend_from_slice(first);
        let frame = f.next_frame().unwrap().unwrap();
        assert_eq!(frame, big);
        let mut owned = frame.try_into_mut().expect("the large frame shares its buffer");
        owned[0] ^= 1;
        f.push(second);
        assert_eq!(frames(&mut f), vec![Bytes::from_static(b"next")]);
    }

    #[test]
    fn rpc_multi_fragment_record() {
        let mut f = Framer::new(Transport::RpcRecordMarking, 1024);
        f.push(&[0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(f.next_frame(), Ok(None));
        f.push(&[0x80, 0, 0, 2, b'd', b'e', 0x80, 0, 0, 1, b'z']);
        assert_eq!(frames(&mut f), vec![Bytes::from_static(b"abcde"), Bytes::from_static(b"z")]);
    }

    #[test]
    fn oversized_frames_fail_without_buffering() {
        let mut f = Framer::new(Transport::RpcRecordMarking, 1 << 20);
        f.push(&[0x7f, 0xff, 0xff, 0xff]);
        assert!(matches!(f.next_frame(), Err(FrameError::TooLarge { .. })));
        f.push(&[0; 100]);
        assert_eq!(f.buffered(), 0);
        let mut f = Framer::new(Transport::SmbDirectTcp, 100);
        f.push(&[0, 0, 1, 0]);
        assert!(matches!(f.next_frame(), Err(FrameError::TooLarge { len: 256, max: 100 })));
        let mut f = Framer::new(Transport::SmbDirectTcp, 100);
        f.push(&[0x85, 0, 0, 0]);
        assert_eq!(f.next_frame(), Err(FrameError::BadDirectTcpHeader(0x85)));
    }

    #[test]
    fn rpc_fragments_add_up_against_the_limit() {
        let mut f = Framer::new(Transport::RpcRecordMarking, 8);
        f.push(&[0, 0, 0, 5, 1, 2, 3, 4, 5, 0x80, 0, 0, 5]);
        assert!(matches!(f.next_frame(), Err(FrameError::TooLarge { len: 10, max: 8 })));
    }

    quickcheck! {
        fn framer_never_panics(data: Vec<u8>, chunk: u8) -> bool {
            for t in [Transport::SmbDirectTcp, Transport::RpcRecordMarking] {
                let mut f = Framer::new(t, 4096);
                for c in data.chunks(chunk.max(1) as usize) {
                    f.push(c);
                    while let Ok(Some(_)) = f.next_frame() {}
                }
            }
            true
        }

        fn encode_then_frame_round_trips(bodies: Vec<Vec<u8>>) -> bool {
            [Transport::SmbDirectTcp, Transport::RpcRecordMarking].iter().all(|&t| {
                let mut f = Framer::new(t, 1 << 20);
                for b in &bodies { f.push(&encode_frame(t, b)); }
                frames(&mut f).iter().map(|b| b.to_vec()).collect::<Vec<_>>() == bodies
            })
        }
    }
}
