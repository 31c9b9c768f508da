//! Golden bytes for READ/WRITE/FLUSH/LOCK halves not covered inline, and
//! quickcheck round trips (MS-SMB2 2.2.17-2.2.27).

use quickcheck::{Arbitrary, Gen, quickcheck};

use super::*;
use crate::smb::wire::session_setup::{decode_empty, encode_empty_response};
use crate::smb::wire::testutil::msg;

const FID: FileId = FileId { persistent: 1, volatile: 2 };
const FID_BYTES: [u8; 16] = [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0];

#[test]
fn golden_read_request_encode() {
    let r = ReadRequest { length: 4096, offset: 10, file_id: FID, minimum_count: 1, channel: 0 };
    let mut want = vec![49, 0, 0, 0]; // StructureSize, Padding, Flags
    want.extend_from_slice(&[0x00, 0x10, 0, 0]); // Length 4096
    want.extend_from_slice(&[10, 0, 0, 0, 0, 0, 0, 0]); // Offset (offset 8)
    want.extend_from_slice(&FID_BYTES); // FileId (offset 16)
    want.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]); // MinimumCount 1, Channel NONE (offset 32)
    want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0]); // RemainingBytes, ReadChannelInfo*, Buffer
    assert_eq!(to_vec(|b| r.encode(b)), want);
    assert_eq!(ReadRequest::decode(&msg(&want)), Ok(r));
}

#[test]
fn golden_read_response_decode() {
    // StructureSize 17, DataOffset 80, Reserved, DataLength 2, DataRemaining, Flags, data.
    let b = [17, 0, 80, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'h', b'i'];
    assert_eq!(decode_read_response(&msg(&b)), Ok(&b"hi"[..]));
    assert_eq!(decode_read_response(&msg(&b[..17])), Err(WireError::Short));
    assert_eq!(decode_read_response(&msg(&to_vec(|b| encode_read_response(&[], b)))), Ok(&[][..]));
}

#[test]
fn golden_write() {
    let w = WriteRequest { offset: 0x100, file_id: FID, channel: 0, flags: 1, data: b"abc" };
    let mut want = vec![49, 0, 112, 0, 3, 0, 0, 0]; // StructureSize, DataOffset 112, Length 3
    want.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // Offset 0x100 (offset 8)
    want.extend_from_slice(&FID_BYTES); // FileId (offset 16)
    want.extend_from_slice(&[0; 12]); // Channel, RemainingBytes, WriteChannelInfo* (offset 32)
    want.extend_from_slice(&[1, 0, 0, 0]); // Flags WRITE_THROUGH (offset 44)
    want.extend_from_slice(b"abc"); // Buffer (offset 48 = 112 from header)
    assert_eq!(to_vec(|b| w.encode(b)), want);
    assert_eq!(WriteRequest::decode(&msg(&want)), Ok(w));
    // StructureSize 17, Reserved, Count 3, Remaining, WriteChannelInfo*, one Buffer byte.
    let resp = [17, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(to_vec(|b| encode_write_response(3, b)), resp);
    assert_eq!(decode_write_response(&msg(&resp)), Ok(3));
}

#[test]
fn golden_flush() {
    let mut want = vec![24, 0, 0, 0, 0, 0, 0, 0]; // StructureSize, Reserved1, Reserved2
    want.extend_from_slice(&FID_BYTES);
    assert_eq!(to_vec(|b| encode_flush(FID, b)), want);
    assert_eq!(decode_flush(&msg(&want)), Ok(FID));
    assert_eq!(decode_empty(&msg(&to_vec(encode_empty_response))), Ok(()));
}

#[test]
fn golden_lock() {
    let mut want = vec![48, 0, 2, 0, 5, 0, 0, 0]; // StructureSize, LockCount 2, LockSequence 5
    want.extend_from_slice(&FID_BYTES); // FileId (offset 8)
    want.extend_from_slice(&[0, 0x10, 0, 0, 0, 0, 0, 0]); // Locks[0].Offset 4096 (offset 24)
    want.extend_from_slice(&[0x10, 0, 0, 0, 0, 0, 0, 0]); // Locks[0].Length 16
    want.extend_from_slice(&[0x12, 0, 0, 0, 0, 0, 0, 0]); // Flags EXCLUSIVE|FAIL_IMMEDIATELY, Reserved
    want.extend_from_slice(&[0; 8]); // Locks[1].Offset 0
    want.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]); // Locks[1].Length 1
    want.extend_from_slice(&[0x11, 0, 0, 0, 0, 0, 0, 0]); // Flags SHARED|FAIL_IMMEDIATELY
    let r = LockRequest {
        lock_sequence: 5,
        file_id: FID,
        locks: vec![
            LockElement { offset: 4096, length: 16, flags: 0x12 },
            LockElement { offset: 0, length: 1, flags: 0x11 },
        ],
    };
    assert_eq!(to_vec(|b| r.encode(b)), want);
    assert_eq!(LockRequest::decode(&msg(&want)), Ok(r));
    assert_eq!(decode_lock(&msg(&want)), Ok((FID, 2)));
    assert!(LockRequest::decode(&msg(&want[..want.len() - 1])).is_err());
}

impl Arbitrary for ReadRequest {
    fn arbitrary(g: &mut Gen) -> Self {
        ReadRequest {
            length: u32::arbitrary(g),
            offset: u64::arbitrary(g),
            file_id: FileId::arbitrary(g),
            minimum_count: u32::arbitrary(g),
            channel: u32::arbitrary(g),
        }
    }
}

impl Arbitrary for LockRequest {
    fn arbitrary(g: &mut Gen) -> Self {
        let n = 1 + usize::arbitrary(g) % 8;
        let locks = (0..n)
            .map(|_| LockElement { offset: u64::arbitrary(g), length: u64::arbitrary(g), flags: u32::arbitrary(g) })
            .collect();
        LockRequest { lock_sequence: u32::arbitrary(g), file_id: FileId::arbitrary(g), locks }
    }
}

quickcheck! {
    fn read_request_round_trip(r: ReadRequest) -> bool {
        ReadRequest::decode(&msg(&to_vec(|b| r.encode(b)))) == Ok(r)
    }

    fn read_response_round_trip(data: Vec<u8>) -> bool {
        let data = &data[..data.len().min(4096)];
        decode_read_response(&msg(&to_vec(|b| encode_read_response(data, b)))) == Ok(data)
    }

    fn write_round_trip(offset: u64, file_id: FileId, channel: u32, flags: u32, data: Vec<u8>) -> bool {
        let w = WriteRequest { offset, file_id, channel, flags, data: &data[..data.len().min(4096)] };
        WriteRequest::decode(&msg(&to_vec(|b| w.encode(b)))) == Ok(w)
            && decode_write_response(&msg(&to_vec(|b| encode_write_response(channel, b)))) == Ok(channel)
    }

    fn flush_round_trip(fid: FileId) -> bool {
        decode_flush(&msg(&to_vec(|b| encode_flush(fid, b)))) == Ok(fid)
    }

    fn lock_round_trip(r: LockRequest) -> bool {
        LockRequest::decode(&msg(&to_vec(|b| r.encode(b)))) == Ok(r)
    }

    fn responses_decode_never_panics(b: Vec<u8>) -> bool {
        let _ = decode_read_response(&b);
        let _ = decode_write_response(&b);
        let _ = LockRequest::decode(&b);
        true
    }
}
