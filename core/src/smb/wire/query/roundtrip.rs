//! Golden bytes for QUERY_DIRECTORY/QUERY_INFO/SET_INFO halves not covered
//! inline, and quickcheck round trips (MS-SMB2 2.2.33-2.2.40).

use quickcheck::{Arbitrary, Gen, quickcheck};

use super::*;
use crate::smb::wire::testutil::{bytes, msg, name};

const FID_BYTES: [u8; 16] = [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0];
const FID: FileId = FileId { persistent: 1, volatile: 2 };

#[test]
fn golden_query_directory_request_encode() {
    let r = QueryDirectoryRequest {
        class: 37,
        flags: RESTART_SCANS,
        file_index: 0,
        file_id: FID,
        pattern: "*".into(),
        output_length: 65536,
    };
    let mut want = vec![33, 0, 37, 1]; // StructureSize, FileIdBothDirectoryInformation, RESTART_SCANS
    want.extend_from_slice(&[0; 4]); // FileIndex
    want.extend_from_slice(&FID_BYTES); // FileId (offset 8)
    want.extend_from_slice(&[96, 0, 2, 0]); // FileNameOffset 96, FileNameLength 2 (offset 24)
    want.extend_from_slice(&[0, 0, 1, 0]); // OutputBufferLength 65536 (offset 28)
    want.extend_from_slice(&[b'*', 0]); // Buffer (offset 32 = 96 from header)
    assert_eq!(to_vec(|b| r.encode(b)), want);
    assert_eq!(QueryDirectoryRequest::decode(&msg(&want)), Ok(r));
}

#[test]
fn golden_output_buffer_response_decode() {
    // StructureSize 9, OutputBufferOffset 72, OutputBufferLength 3, buffer.
    let b = [9, 0, 72, 0, 3, 0, 0, 0, 0xA, 0xB, 0xC];
    assert_eq!(to_vec(|b| encode_output_buffer_response(&[0xA, 0xB, 0xC], b)), b);
    assert_eq!(decode_output_buffer_response(&msg(&b)), Ok(&[0xA, 0xB, 0xC][..]));
    assert_eq!(decode_output_buffer_response(&msg(&b[..10])), Err(WireError::Short));
}

#[test]
fn golden_query_info_request() {
    let r = QueryInfoRequest {
        info_type: INFO_FILE,
        class: 18, // FileAllInformation
        output_length: 4096,
        input: vec![],
        additional_information: 0,
        flags: 0,
        file_id: FID,
    };
    let mut want = vec![41, 0, 1, 18]; // StructureSize, InfoType FILE, FileInfoClass 18
    want.extend_from_slice(&[0, 0x10, 0, 0]); // OutputBufferLength 4096
    want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]); // InputBufferOffset, Reserved, InputBufferLength
    want.extend_from_slice(&[0; 8]); // AdditionalInformation, Flags (offset 16)
    want.extend_from_slice(&FID_BYTES); // FileId (offset 24)
    want.push(0); // Buffer (StructureSize 41 counts one byte)
    assert_eq!(to_vec(|b| r.encode(b)), want);
    assert_eq!(QueryInfoRequest::decode(&msg(&want)), Ok(r.clone()));
    // With an input buffer (e.g. FileFullEaInformation's EA list) at 104.
    let with_input = QueryInfoRequest { input: vec![7, 8], ..r };
    let b = to_vec(|b| with_input.encode(b));
    assert_eq!(&b[8..16], &[104, 0, 0, 0, 2, 0, 0, 0]);
    assert_eq!(&b[40..], &[7, 8]);
    assert_eq!(QueryInfoRequest::decode(&msg(&b)), Ok(with_input));
}

#[test]
fn golden_set_info() {
    let eof = 100u64.to_le_bytes();
    let r = SetInfoRequest { info_type: INFO_FILE, class: 20, buffer: &eof, additional_information: 0, file_id: FID };
    let mut want = vec![33, 0, 1, 20]; // StructureSize, InfoType FILE, FileEndOfFileInformation
    want.extend_from_slice(&[8, 0, 0, 0, 96, 0, 0, 0]); // BufferLength 8, BufferOffset 96, Reserved
    want.extend_from_slice(&[0; 4]); // AdditionalInformation
    want.extend_from_slice(&FID_BYTES); // FileId (offset 16)
    want.extend_from_slice(&eof); // Buffer (offset 32 = 96 from header)
    assert_eq!(to_vec(|b| r.encode(b)), want);
    assert_eq!(SetInfoRequest::decode(&msg(&want)), Ok(r));
    assert_eq!(to_vec(encode_set_info_response), [2, 0]);
    assert_eq!(decode_set_info_response(&msg(&[2, 0])), Ok(()));
    assert_eq!(decode_set_info_response(&msg(&[4, 0])), Err(WireError::StructureSize));
}

impl Arbitrary for QueryDirectoryRequest {
    fn arbitrary(g: &mut Gen) -> Self {
        QueryDirectoryRequest {
            class: u8::arbitrary(g),
            flags: u8::arbitrary(g),
            file_index: u32::arbitrary(g),
            file_id: FileId::arbitrary(g),
            pattern: name(g),
            output_length: u32::arbitrary(g),
        }
    }
}

impl Arbitrary for QueryInfoRequest {
    fn arbitrary(g: &mut Gen) -> Self {
        QueryInfoRequest {
            info_type: u8::arbitrary(g),
            class: u8::arbitrary(g),
            output_length: u32::arbitrary(g),
            input: bytes(g, 4096),
            additional_information: u32::arbitrary(g),
            flags: u32::arbitrary(g),
            file_id: FileId::arbitrary(g),
        }
    }
}

quickcheck! {
    fn query_directory_round_trip(r: QueryDirectoryRequest) -> bool {
        QueryDirectoryRequest::decode(&msg(&to_vec(|b| r.encode(b)))) == Ok(r)
    }

    fn output_buffer_round_trip(data: Vec<u8>) -> bool {
        let data = &data[..data.len().min(4096)];
        decode_output_buffer_response(&msg(&to_vec(|b| encode_output_buffer_response(data, b)))) == Ok(data)
    }

    fn query_info_round_trip(r: QueryInfoRequest) -> bool {
        QueryInfoRequest::decode(&msg(&to_vec(|b| r.encode(b)))) == Ok(r)
    }

    fn set_info_round_trip(info_type: u8, class: u8, buffer: Vec<u8>, additional_information: u32, file_id: FileId) -> bool {
        let buffer = &buffer[..buffer.len().min(4096)];
        let r = SetInfoRequest { info_type, class, buffer, additional_information, file_id };
        SetInfoRequest::decode(&msg(&to_vec(|b| r.encode(b)))) == Ok(r)
            && decode_set_info_response(&msg(&to_vec(encode_set_info_response))) == Ok(())
    }

    fn responses_decode_never_panics(b: Vec<u8>) -> bool {
        let _ = decode_output_buffer_response(&b);
        let _ = decode_set_info_response(&b);
        true
    }
}
