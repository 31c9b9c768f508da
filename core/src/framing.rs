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
    /// Bytes still to drop as they arrive: the tail of a frame whose data
    /// was received into pipes ([`Framer::take_spliced_head`]).
    skip: usize,
}

impl Framer {
    /// A framer for `transport` that refuses frames longer than `max` bytes
    /// (headers and record marks not counted).
    pub fn new(transport: Transport, max: usize) -> Self {
        Self { transport, max, buf: BytesMut::new(), record: BytesMut::new(), failed: false, skip: 0 }
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
        if self.skip > 0 {
            let n = self.skip.min(self.buf.len());
            self.buf.advance(n);
            self.skip -= n;
            if self.skip > 0 {
                return Ok(None);
            }
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

    /// The frame at the front of the buffer, when it is a WRITE whose data
    /// may be received into pipes ([`spliceable_write`]) and has not all
    /// arrived yet.
    pub fn splice_plan(&self) -> Option<SplicePlan> {
        if self.failed || self.skip > 0 || !self.record.is_empty() {
            return None;
        }
        let plan = spliceable_write(self.transport, &self.buf, self.max)?;
        (self.buf.len() < plan.head + plan.data).then_some(plan)
    }

    /// Takes the head of the frame `plan` describes (its Direct-TCP header
    /// or record mark included) and the bytes of its data already here;
    /// the rest of the data is the caller's to receive, and the framer drops
    /// the frame's tail as it arrives.
    pub fn take_spliced_head(&mut self, plan: SplicePlan) -> (Bytes, Bytes) {
        let head = self.buf.split_to(plan.head.min(self.buf.len())).freeze();
        let prefix = self.buf.split_to(plan.data.min(self.buf.len())).freeze();
        self.skip = plan.tail;
        (head, prefix)
    }

    /// Puts a frame's beginning, in `parts`, back in front of what is
    /// buffered (its data could not be received into pipes after all): it
    /// is then framed like any other, tail included.
    pub fn unshift(&mut self, parts: &[&[u8]]) {
        let len = parts.iter().map(|p| p.len()).sum::<usize>();
        let mut buf = BytesMut::with_capacity(len + self.buf.len());
        parts.iter().for_each(|p| buf.extend_from_slice(p));
        buf.extend_from_slice(&self.buf);
        self.buf = buf;
        self.skip = 0;
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

/// A large lone WRITE whose data an adapter may receive straight into pipes
/// ([`crate::splice::Inflow`]) instead of reading it into the framer's
/// buffer: the frame is the head, then the data, then `tail` bytes to skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplicePlan {
    /// Bytes before the data, the Direct-TCP header or record mark included.
    pub head: usize,
    /// Bytes of data.
    pub data: usize,
    /// Bytes after the data to the end of the frame (XDR padding).
    pub tail: usize,
}

/// Data below this size is not spliced from the socket: the pipes' system
/// calls cost more than the copy they save.
pub const SPLICE_IN_MIN: usize = 64 * 1024;

/// Where the data of the frame starting at `buf[0]` begins, when it is a
/// WRITE whose data needs no user-space pass: SMB2 (MS-SMB2 2.2.21) not
/// signed, not in a TRANSFORM or compound, its data running to the end of
/// the message; an NFSv3 WRITE (RFC 1813 3.3.7) in one record fragment,
/// AUTH_NONE or AUTH_SYS. `None` otherwise, or when `buf` does not hold the
/// whole head yet, or the frame is above `max` (the framer refuses it) or
/// below [`SPLICE_IN_MIN`] of data. Everything else about the request is
/// checked by the core, as for any message.
pub fn spliceable_write(transport: Transport, buf: &[u8], max: usize) -> Option<SplicePlan> {
    let be32 = |at: usize| buf.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let le16 = |at: usize| buf.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let le32 = |at: usize| buf.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let plan = match transport {
        Transport::SmbDirectTcp => {
            let len = (be32(0)? & 0x00ff_ffff) as usize;
            if buf[0] != 0 || len > max || buf.get(4..8)? != b"\xfeSMB" {
                return None;
            }
            // StructureSize, Command WRITE; Flags without SIGNED (0x8),
            // RELATED (0x4) and SERVER_TO_REDIR (0x1); NextCommand 0.
            let lone = le16(8)? == 64 && le16(16)? == 0x0009 && le32(20)? & 0xd == 0 && le32(24)? == 0;
            let (off, data) = (le16(4 + 66)? as usize, le32(4 + 68)? as usize);
            if !lone || le16(4 + 64)? != 49 || off < 64 + 48 || off.checked_add(data)? != len {
                return None;
            }
            SplicePlan { head: 4 + off, data, tail: 0 }
        }
        Transport::RpcRecordMarking => {
            let mark = be32(0)?;
            let len = (mark & 0x7fff_ffff) as usize;
            // xid, CALL, RPC 2, NFS 3 WRITE.
            if mark & 0x8000_0000 == 0 || len > max || be32(8)? != 0 || be32(12)? != 2 {
                return None;
            }
            if be32(16)? != 100_003 || be32(20)? != 3 || be32(24)? != 7 {
                return None;
            }
            let opaque = |at: usize, most: u32| -> Option<usize> {
                let n = be32(at)?;
                (n <= most).then(|| at + 4 + (n as usize).next_multiple_of(4))
            };
            // Credential (AUTH_NONE or AUTH_SYS), verifier, file handle.
            if be32(28)? > 1 {
                return None;
            }
            let at = opaque(32, 400)?;
            let at = opaque(at + 4, 400)?;
            let at = opaque(at, 64)?;
            // offset, count, stable, then the data's length.
            let data = be32(at + 16)? as usize;
            let head = at + 20;
            let tail = data.next_multiple_of(4) - data;
            if head.checked_add(data)?.checked_add(tail)? != 4 + len {
                return None;
            }
            SplicePlan { head, data, tail }
        }
    };
    (plan.data >= SPLICE_IN_MIN && plan.head <= buf.len()).then_some(plan)
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

    /// A Direct-TCP framed SMB2 WRITE of `len` data bytes with `flags` and
    /// NextCommand `next`.
    fn smb_write(len: usize, flags: u32, next: u32) -> Vec<u8> {
        let mut m = b"\xfeSMB".to_vec();
        m.extend_from_slice(&64u16.to_le_bytes());
        m.extend_from_slice(&[0; 6]);
        m.extend_from_slice(&9u16.to_le_bytes());
        m.extend_from_slice(&[0; 2]);
        m.extend_from_slice(&flags.to_le_bytes());
        m.extend_from_slice(&next.to_le_bytes());
        m.resize(64, 0);
        m.extend_from_slice(&49u16.to_le_bytes());
        m.extend_from_slice(&112u16.to_le_bytes());
        m.extend_from_slice(&(len as u32).to_le_bytes());
        m.resize(112, 0);
        m.resize(112 + len, 7);
        encode_frame(Transport::SmbDirectTcp, &m).to_vec()
    }

    /// A framed NFSv3 WRITE call with `flavor` credentials of `cred` bytes
    /// and `len` data bytes.
    fn nfs_write(len: usize, flavor: u32, cred: usize, prog: u32, proc_no: u32) -> Vec<u8> {
        let mut m = Vec::new();
        for w in [9, 0, 2, prog, 3, proc_no, flavor, cred as u32] {
            m.extend_from_slice(&u32::to_be_bytes(w));
        }
        m.resize(m.len() + cred.next_multiple_of(4), 1);
        m.extend_from_slice(&[0; 8]); // AUTH_NONE verifier
        m.extend_from_slice(&32u32.to_be_bytes());
        m.extend_from_slice(&[3; 32]); // the file handle
        m.extend_from_slice(&[0; 16]); // offset, count, stable
        m.extend_from_slice(&(len as u32).to_be_bytes());
        m.resize(m.len() + len, 7);
        m.resize(m.len().next_multiple_of(4), 0);
        encode_frame(Transport::RpcRecordMarking, &m).to_vec()
    }

    const MAX: usize = 16 << 20;

    #[test]
    fn a_lone_unsigned_smb_write_is_spliceable_from_its_data_offset() {
        let f = smb_write(100_000, 0, 0);
        let want = SplicePlan { head: 4 + 112, data: 100_000, tail: 0 };
        assert_eq!(spliceable_write(Transport::SmbDirectTcp, &f, MAX), Some(want));
        assert_eq!(spliceable_write(Transport::SmbDirectTcp, &f[..116], MAX), Some(want), "the head is enough");
        assert_eq!(spliceable_write(Transport::SmbDirectTcp, &f[..115], MAX), None, "not before the head is here");
        // Signed (its data is read to check the signature), related or
        // compounded (the elements keep their order), too small, too large.
        for (f, why) in [
            (smb_write(100_000, 8, 0), "signed"),
            (smb_write(100_000, 4, 0), "related"),
            (smb_write(100_000, 0, 128), "compounded"),
            (smb_write(65_535, 0, 0), "small"),
        ] {
            assert_eq!(spliceable_write(Transport::SmbDirectTcp, &f, MAX), None, "{why}");
        }
        assert_eq!(spliceable_write(Transport::SmbDirectTcp, &f, 100_000), None, "above the limit");
        let mut read = f.clone();
        read[16] = 8;
        assert_eq!(spliceable_write(Transport::SmbDirectTcp, &read, MAX), None, "a READ");
        let mut short = f.clone();
        short[72..76].copy_from_slice(&99_999u32.to_le_bytes());
        assert_eq!(spliceable_write(Transport::SmbDirectTcp, &short, MAX), None, "data not up to the end");
    }

    #[test]
    fn an_nfs_write_is_spliceable_with_its_padding_as_tail() {
        let f = nfs_write(100_003, 1, 37, 100_003, 7);
        let head = 4 + 32 + 40 + 8 + 36 + 20;
        let want = SplicePlan { head, data: 100_003, tail: 1 };
        assert_eq!(spliceable_write(Transport::RpcRecordMarking, &f, MAX), Some(want));
        assert_eq!(f.len(), head + 100_003 + 1);
        let f = nfs_write(70_000, 0, 0, 100_003, 7);
        assert_eq!(spliceable_write(Transport::RpcRecordMarking, &f, MAX).map(|p| p.tail), Some(0));
        for (f, why) in [
            (nfs_write(100_000, 6, 37, 100_003, 7), "RPCSEC_GSS"),
            (nfs_write(100_000, 1, 37, 100_005, 7), "MOUNT"),
            (nfs_write(100_000, 1, 37, 100_003, 6), "READ"),
            (nfs_write(100_000, 1, 401, 100_003, 7), "credentials past their limit"),
            (nfs_write(1000, 1, 37, 100_003, 7), "small"),
        ] {
            assert_eq!(spliceable_write(Transport::RpcRecordMarking, &f, MAX), None, "{why}");
        }
        let mut frag = nfs_write(100_000, 1, 37, 100_003, 7);
        frag[0] &= 0x7f;
        assert_eq!(spliceable_write(Transport::RpcRecordMarking, &frag, MAX), None, "not the last fragment");
    }

    #[test]
    fn the_framer_hands_out_a_spliced_head_and_drops_the_tail() {
        let f = nfs_write(100_003, 1, 20, 100_003, 7);
        let plan = spliceable_write(Transport::RpcRecordMarking, &f, MAX).unwrap();
        let mut framer = Framer::new(Transport::RpcRecordMarking, MAX);
        framer.push(&f[..plan.head + 500]);
        assert_eq!(framer.next_frame(), Ok(None));
        assert_eq!(framer.splice_plan(), Some(plan));
        let (head, prefix) = framer.take_spliced_head(plan);
        assert_eq!((&head[..], &prefix[..]), (&f[..plan.head], &f[plan.head..plan.head + 500]));
        // The rest of the data goes elsewhere; the padding and the next
        // record come through the framer.
        framer.push(&f[f.len() - 1..]);
        framer.push(&encode_frame(Transport::RpcRecordMarking, b"next"));
        assert_eq!(framer.next_frame(), Ok(Some(Bytes::from_static(b"next"))));

        // Put back, the frame is framed whole, padding included.
        let mut framer = Framer::new(Transport::RpcRecordMarking, MAX);
        framer.push(&f[..plan.head + 10]);
        let (head, prefix) = framer.take_spliced_head(plan);
        framer.unshift(&[&head, &prefix]);
        framer.push(&f[plan.head + 10..]);
        assert_eq!(framer.next_frame().unwrap().unwrap(), &f[4..]);
    }

    quickcheck! {
        fn spliceable_write_never_panics(data: Vec<u8>, max: u32) -> bool {
            for t in [Transport::SmbDirectTcp, Transport::RpcRecordMarking] {
                if let Some(p) = spliceable_write(t, &data, max as usize) {
                    assert!(p.head <= data.len() && p.data >= SPLICE_IN_MIN && p.tail < 4);
                }
            }
            true
        }

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
