//! Golden encode/decode of the halves the server does not use itself, and
//! quickcheck round trips (MS-SMB2 2.2.3, 2.2.4).

use quickcheck::{Arbitrary, Gen, quickcheck};

use super::*;
use crate::smb::wire::testutil::{bytes, guid, msg};

/// NEGOTIATE request body offering 3.0.2 and 3.1.1 with two contexts.
fn golden_request_body() -> Vec<u8> {
    let mut b = vec![36, 0, 2, 0]; // StructureSize 36, DialectCount 2
    b.extend_from_slice(&[1, 0, 0, 0]); // SecurityMode signing enabled, Reserved
    b.extend_from_slice(&[0x44, 0, 0, 0]); // Capabilities (LARGE_MTU | ENCRYPTION)
    b.extend_from_slice(&[0xAB; 16]); // ClientGuid (offset 12)
    b.extend_from_slice(&[104, 0, 0, 0, 2, 0, 0, 0]); // NegotiateContextOffset 104, Count 2, Reserved2
    b.extend_from_slice(&[0x02, 0x03, 0x11, 0x03]); // Dialects (offset 36), end at 104: already 8-aligned
    // PREAUTH_INTEGRITY_CAPABILITIES: 1 algorithm (SHA-512), 2-byte salt.
    b.extend_from_slice(&[1, 0, 8, 0, 0, 0, 0, 0, 1, 0, 2, 0, 1, 0, 0xAA, 0xBB]);
    // SIGNING_CAPABILITIES: CMAC, GMAC (starts aligned at 120).
    b.extend_from_slice(&[8, 0, 6, 0, 0, 0, 0, 0, 2, 0, 1, 0, 2, 0]);
    b
}

fn golden_request() -> NegotiateRequest {
    NegotiateRequest {
        security_mode: SIGNING_ENABLED,
        capabilities: CAP_LARGE_MTU | CAP_ENCRYPTION,
        client_guid: [0xAB; 16],
        dialects: vec![DIALECT_302, DIALECT_311],
        contexts: vec![
            NegotiateContext { context_type: PREAUTH_INTEGRITY_CAPABILITIES, data: vec![1, 0, 2, 0, 1, 0, 0xAA, 0xBB] },
            NegotiateContext { context_type: SIGNING_CAPABILITIES, data: vec![2, 0, 1, 0, 2, 0] },
        ],
    }
}

#[test]
fn golden_request_encode_and_decode() {
    assert_eq!(to_vec(|b| golden_request().encode(b)), golden_request_body());
    assert_eq!(NegotiateRequest::decode(&msg(&golden_request_body())), Ok(golden_request()));
}

#[test]
fn golden_request_without_311_has_no_contexts() {
    let r = NegotiateRequest { dialects: vec![DIALECT_202, DIALECT_210], ..Default::default() };
    let mut want = vec![36, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]; // StructureSize, DialectCount 2, ...
    want.extend_from_slice(&[0; 16]); // ClientGuid
    want.extend_from_slice(&[0; 8]); // NegotiateContextOffset/Count/Reserved2 all zero
    want.extend_from_slice(&[0x02, 0x02, 0x10, 0x02]); // 2.0.2, 2.1
    assert_eq!(to_vec(|b| r.encode(b)), want);
    assert_eq!(NegotiateRequest::decode(&msg(&want)), Ok(r));
}

fn golden_response_body() -> Vec<u8> {
    let mut b = vec![65, 0, 1, 0, 0x11, 0x03, 1, 0]; // StructureSize 65, SecurityMode, Dialect 3.1.1, 1 context
    b.extend_from_slice(&[0x5A; 16]); // ServerGuid (offset 8)
    b.extend_from_slice(&[0x07, 0, 0, 0]); // Capabilities DFS|LEASING|LARGE_MTU (offset 24)
    b.extend_from_slice(&[0, 0, 0x80, 0]); // MaxTransactSize 8 MiB
    b.extend_from_slice(&[0, 0, 0x80, 0]); // MaxReadSize
    b.extend_from_slice(&[0, 0, 0x80, 0]); // MaxWriteSize
    b.extend_from_slice(&0x01D9_0000_0000_0000u64.to_le_bytes()); // SystemTime (offset 40)
    b.extend_from_slice(&[0; 8]); // ServerStartTime
    b.extend_from_slice(&[128, 0, 3, 0]); // SecurityBufferOffset 128, Length 3 (offset 56)
    b.extend_from_slice(&[136, 0, 0, 0]); // NegotiateContextOffset 136 (offset 60)
    b.extend_from_slice(&[0x60, 0x01, 0x02]); // SecurityBuffer (offset 64 = 128 from header)
    b.extend_from_slice(&[0; 5]); // pad 131 to 136
    b.extend_from_slice(&[8, 0, 2, 0, 0, 0, 0, 0, 1, 0]); // SIGNING_CAPABILITIES, AES-CMAC
    b
}

fn golden_response() -> NegotiateResponse {
    NegotiateResponse {
        security_mode: SIGNING_ENABLED,
        dialect: DIALECT_311,
        server_guid: [0x5A; 16],
        capabilities: CAP_DFS | CAP_LEASING | CAP_LARGE_MTU,
        max_transact: 0x0080_0000,
        max_read: 0x0080_0000,
        max_write: 0x0080_0000,
        system_time: 0x01D9_0000_0000_0000,
        security_buffer: vec![0x60, 0x01, 0x02],
        contexts: vec![NegotiateContext { context_type: SIGNING_CAPABILITIES, data: vec![1, 0] }],
    }
}

#[test]
fn golden_response_encode_and_decode() {
    assert_eq!(to_vec(|b| golden_response().encode(b)), golden_response_body());
    assert_eq!(NegotiateResponse::decode(&msg(&golden_response_body())), Ok(golden_response()));
}

#[test]
fn golden_response_without_buffer_or_contexts() {
    let r = NegotiateResponse { dialect: DIALECT_202, ..Default::default() };
    let b = to_vec(|b| r.encode(b));
    assert_eq!(b.len(), 65); // StructureSize 65: one byte of Buffer
    assert_eq!(&b[56..64], &[128, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(NegotiateResponse::decode(&msg(&b)), Ok(r));
}

fn arbitrary_contexts(g: &mut Gen) -> Vec<NegotiateContext> {
    let n = usize::arbitrary(g) % 5;
    (0..n).map(|_| NegotiateContext { context_type: u16::arbitrary(g), data: bytes(g, 256) }).collect()
}

impl Arbitrary for NegotiateRequest {
    fn arbitrary(g: &mut Gen) -> Self {
        let n = 1 + usize::arbitrary(g) % 8;
        let mut dialects: Vec<u16> = (0..n).map(|_| u16::arbitrary(g)).collect();
        if bool::arbitrary(g) {
            dialects.push(DIALECT_311);
        }
        let contexts = match dialects.contains(&DIALECT_311) {
            true => arbitrary_contexts(g),
            false => Vec::new(),
        };
        NegotiateRequest {
            security_mode: u16::arbitrary(g),
            capabilities: u32::arbitrary(g),
            client_guid: guid(g),
            dialects,
            contexts,
        }
    }
}

impl Arbitrary for NegotiateResponse {
    fn arbitrary(g: &mut Gen) -> Self {
        NegotiateResponse {
            security_mode: u16::arbitrary(g),
            dialect: u16::arbitrary(g),
            server_guid: guid(g),
            capabilities: u32::arbitrary(g),
            max_transact: u32::arbitrary(g),
            max_read: u32::arbitrary(g),
            max_write: u32::arbitrary(g),
            system_time: u64::arbitrary(g),
            security_buffer: bytes(g, 4096),
            contexts: arbitrary_contexts(g),
        }
    }
}

quickcheck! {
    fn request_round_trip(r: NegotiateRequest) -> bool {
        NegotiateRequest::decode(&msg(&to_vec(|b| r.encode(b)))) == Ok(r)
    }

    fn response_round_trip(r: NegotiateResponse) -> bool {
        NegotiateResponse::decode(&msg(&to_vec(|b| r.encode(b)))) == Ok(r)
    }

    fn response_decode_never_panics(b: Vec<u8>) -> bool {
        let _ = NegotiateResponse::decode(&b);
        let _ = NegotiateResponse::decode(&msg(&b));
        true
    }
}
