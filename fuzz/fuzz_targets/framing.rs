//! Both transports' framers fed the same stream whole and in arbitrary
//! chunks: same frames, same error, every frame within the limit, and frames
//! re-encoded with `encode_frame` come back unchanged. `spliceable_write`
//! on the stream's start never panics and plans only within the frame.
//!
//! Input: byte 0 transport (bit 0) and limit selector, bytes 1..4 chunk
//! sizes (cycled; 0 means 1), the rest is the stream.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use polyshare_core::framing::{FrameError, Framer, SPLICE_IN_MIN, Transport, encode_frame, spliceable_write};

/// Drains `f`: frames in order, then the error that stopped it (if any).
fn drain(f: &mut Framer, frames: &mut Vec<Bytes>, err: &mut Option<FrameError>) {
    loop {
        match f.next_frame() {
            Ok(Some(b)) => frames.push(b),
            Ok(None) => return,
            Err(e) => {
                assert!(err.is_none(), "second error after {err:?}: {e:?}");
                *err = Some(e);
                // A failed framer stays failed and silent.
                assert_eq!(f.next_frame(), Ok(None));
                assert_eq!(f.buffered(), 0);
                return;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&[sel, c0, c1, c2], stream)) = data.split_first_chunk::<4>() else { return };
    let transport = if sel & 1 == 0 { Transport::SmbDirectTcp } else { Transport::RpcRecordMarking };
    let max = match (sel >> 1) & 3 {
        0 => 0,
        1 => 16,
        2 => 4096,
        _ => 16 * 1024 * 1024 + 4096,
    };
    let chunks = [c0, c1, c2].map(|c| usize::from(c.max(1)));

    if let Some(p) = spliceable_write(transport, stream, max) {
        let word = u32::from_be_bytes([stream[0], stream[1], stream[2], stream[3]]);
        let len = (word & if transport == Transport::SmbDirectTcp { 0x00ff_ffff } else { 0x7fff_ffff }) as usize;
        assert!(p.head <= stream.len() && p.data >= SPLICE_IN_MIN && p.tail < 4, "{p:?}");
        assert_eq!(p.head + p.data + p.tail, 4 + len, "the plan covers the frame");
        assert!(len <= max);
    }

    let (mut whole, mut whole_err) = (Vec::new(), None);
    let mut f = Framer::new(transport, max);
    f.push(stream);
    drain(&mut f, &mut whole, &mut whole_err);
    assert!(f.buffered() <= stream.len());

    let (mut chunked, mut chunked_err) = (Vec::new(), None);
    let mut f = Framer::new(transport, max);
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let n = chunks[i % 3].min(rest.len());
        i += 1;
        let (c, r) = rest.split_at(n);
        rest = r;
        f.push(c);
        drain(&mut f, &mut chunked, &mut chunked_err);
        assert!(f.buffered() <= stream.len());
    }
    assert_eq!(whole, chunked, "frames depend on chunking");
    assert_eq!(whole_err, chunked_err, "error depends on chunking");

    for fr in &whole {
        assert!(fr.len() <= max, "frame of {} bytes over the limit {max}", fr.len());
    }
    // Re-encoding the frames gives a stream that frames back to the same bodies.
    let mut f = Framer::new(transport, max);
    let mut again = Vec::new();
    let mut err = None;
    for fr in &whole {
        f.push(&encode_frame(transport, fr));
        drain(&mut f, &mut again, &mut err);
    }
    assert_eq!(err, None);
    assert_eq!(whole, again, "re-encoded frames differ");
});
