//! Golden bytes for the halves not covered inline, and quickcheck round trips
//! (MS-SMB2 2.2.5-2.2.12, 2.2.28).

use quickcheck::{Arbitrary, Gen, quickcheck};

use super::*;
use crate::smb::wire::testutil::{bytes, msg, name};

#[test]
fn golden_session_setup_request_encode() {
    let r = SessionSetupRequest {
        flags: 0,
        security_mode: 1,
        capabilities: 1,
        previous_session_id: 0x0102,
        security_buffer: vec![0x60, 0x82, 0x01],
    };
    let mut want = vec![25, 0, 0, 1]; // StructureSize, Flags, SecurityMode signing enabled
    want.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]); // Capabilities DFS, Channel
    want.extend_from_slice(&[88, 0, 3, 0]); // SecurityBufferOffset 88, Length 3 (offset 12)
    want.extend_from_slice(&[2, 1, 0, 0, 0, 0, 0, 0]); // PreviousSessionId (offset 16)
    want.extend_from_slice(&[0x60, 0x82, 0x01]); // Buffer (offset 24)
    assert_eq!(to_vec(|b| r.encode(b)), want);
    assert_eq!(SessionSetupRequest::decode(&msg(&want)), Ok(r));
}

#[test]
fn golden_session_setup_response_decode() {
    // StructureSize 9, SessionFlags IS_GUEST, SecurityBufferOffset 72, Length 2.
    let b = [9, 0, 1, 0, 72, 0, 2, 0, 0xA1, 0x07];
    assert_eq!(decode_session_setup_response(&msg(&b)), Ok((SESSION_FLAG_IS_GUEST, &[0xA1, 0x07][..])));
    assert_eq!(to_vec(|b| encode_session_setup_response(SESSION_FLAG_IS_GUEST, &[0xA1, 0x07], b)), b);
    assert!(decode_session_setup_response(&msg(&b[..9])).is_err());
}

#[test]
fn golden_empty_bodies() {
    // LOGOFF / TREE_DISCONNECT / ECHO / CANCEL: StructureSize 4, Reserved.
    assert_eq!(to_vec(encode_empty_request), [4, 0, 0, 0]);
    assert_eq!(decode_empty(&msg(&[4, 0, 0, 0])), Ok(()));
    assert_eq!(decode_empty(&msg(&[4, 0])), Ok(()));
    assert_eq!(decode_empty(&msg(&[9, 0, 0, 0])), Err(WireError::StructureSize));
    assert_eq!(decode_empty(&msg(&[])), Err(WireError::Short));
}

#[test]
fn golden_tree_connect_request_encode() {
    let mut want = vec![9, 0, 0, 0, 72, 0, 14, 0]; // StructureSize, Flags, PathOffset 72, PathLength 14
    want.extend_from_slice(&[b'\\', 0, b'\\', 0, b's', 0, b'\\', 0, b'p', 0, b'u', 0, b'b', 0]);
    assert_eq!(to_vec(|b| encode_tree_connect("\\\\s\\pub", b)), want);
    assert_eq!(decode_tree_connect(&msg(&want)).as_deref(), Ok("\\\\s\\pub"));
}

#[test]
fn golden_tree_connect_response_decode() {
    let b = [16, 0, 1, 0, 0x30, 0, 0, 0, 0x08, 0, 0, 0, 0xFF, 0x01, 0x1F, 0x00];
    let r = TreeConnectResponse {
        share_type: SHARE_TYPE_DISK,
        share_flags: 0x30,
        capabilities: 0x08,
        maximal_access: 0x001F_01FF,
    };
    assert_eq!(decode_tree_connect_response(&msg(&b)), Ok(r));
}

impl Arbitrary for SessionSetupRequest {
    fn arbitrary(g: &mut Gen) -> Self {
        SessionSetupRequest {
            flags: u8::arbitrary(g),
            security_mode: u8::arbitrary(g),
            capabilities: u32::arbitrary(g),
            previous_session_id: u64::arbitrary(g),
            security_buffer: bytes(g, 4096),
        }
    }
}

#[derive(Debug, Clone)]
struct Path(String);

impl Arbitrary for Path {
    fn arbitrary(g: &mut Gen) -> Self {
        Path(name(g))
    }
}

quickcheck! {
    fn session_setup_request_round_trip(r: SessionSetupRequest) -> bool {
        SessionSetupRequest::decode(&msg(&to_vec(|b| r.encode(b)))) == Ok(r)
    }

    fn session_setup_response_round_trip(flags: u16, token: Vec<u8>) -> bool {
        let token = &token[..token.len().min(4096)];
        decode_session_setup_response(&msg(&to_vec(|b| encode_session_setup_response(flags, token, b)))) == Ok((flags, token))
    }

    fn tree_connect_request_round_trip(p: Path) -> bool {
        decode_tree_connect(&msg(&to_vec(|b| encode_tree_connect(&p.0, b)))) == Ok(p.0)
    }

    fn tree_connect_response_round_trip(share_type: u8, share_flags: u32, capabilities: u32, maximal_access: u32) -> bool {
        let r = TreeConnectResponse { share_type, share_flags, capabilities, maximal_access };
        let b = to_vec(|b| encode_tree_connect_response(share_type, share_flags, capabilities, maximal_access, b));
        decode_tree_connect_response(&msg(&b)) == Ok(r)
    }

    fn empty_round_trip() -> bool {
        decode_empty(&msg(&to_vec(encode_empty_request))).is_ok() && decode_empty(&msg(&to_vec(encode_empty_response))).is_ok()
    }

    fn responses_decode_never_panics(b: Vec<u8>, size: u8) -> bool {
        let mut m = msg(&[size % 20, 0]);
        m.extend_from_slice(&b);
        let _ = decode_session_setup_response(&m);
        let _ = decode_tree_connect_response(&m);
        let _ = decode_empty(&m);
        let _ = decode_session_setup_response(&b);
        true
    }
}
