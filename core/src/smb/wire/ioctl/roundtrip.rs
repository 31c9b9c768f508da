//! Golden bytes for IOCTL halves not covered inline, and quickcheck round
//! trips (MS-SMB2 2.2.31, 2.2.32, 2.2.31.4, 2.2.32.6).

use quickcheck::{Arbitrary, Gen, quickcheck};

use super::*;
use crate::smb::wire::testutil::{guid, msg};

fn golden_vni() -> ValidateNegotiateInfo {
    ValidateNegotiateInfo { capabilities: 0x44, guid: [7; 16], security_mode: 1, dialects: vec![0x0302, 0x0300] }
}

fn golden_vni_bytes() -> Vec<u8> {
    let mut b = vec![0x44, 0, 0, 0]; // Capabilities
    b.extend_from_slice(&[7; 16]); // Guid (offset 4)
    b.extend_from_slice(&[1, 0, 2, 0]); // SecurityMode 1, DialectCount 2 (offset 20)
    b.extend_from_slice(&[0x02, 0x03, 0x00, 0x03]); // Dialects 3.0.2, 3.0 (offset 24)
    b
}

#[test]
fn golden_ioctl_request() {
    let input = golden_vni_bytes();
    let r = IoctlRequest {
        ctl_code: FSCTL_VALIDATE_NEGOTIATE_INFO,
        file_id: FileId::RELATED,
        input: &input,
        max_output: 24,
        flags: IOCTL_IS_FSCTL,
    };
    let mut want = vec![57, 0, 0, 0]; // StructureSize, Reserved
    want.extend_from_slice(&[0x04, 0x02, 0x14, 0x00]); // CtlCode FSCTL_VALIDATE_NEGOTIATE_INFO
    want.extend_from_slice(&[0xFF; 16]); // FileId 0xFFFFFFFFFFFFFFFF twice (offset 8)
    want.extend_from_slice(&[120, 0, 0, 0, 28, 0, 0, 0]); // InputOffset 120, InputCount 28 (offset 24)
    want.extend_from_slice(&[0; 12]); // MaxInputResponse, OutputOffset, OutputCount (offset 32)
    want.extend_from_slice(&[24, 0, 0, 0, 1, 0, 0, 0]); // MaxOutputResponse 24, Flags IS_FSCTL (offset 44)
    want.extend_from_slice(&[0; 4]); // Reserved2
    want.extend_from_slice(&input); // Buffer (offset 56 = 120 from header)
    assert_eq!(to_vec(|b| r.encode(b)), want);
    assert_eq!(IoctlRequest::decode(&msg(&want)), Ok(r));
    assert_eq!(to_vec(|b| golden_vni().encode(b)), input);
    assert_eq!(ValidateNegotiateInfo::decode(&input), Ok(golden_vni()));
}

#[test]
fn golden_ioctl_response() {
    let out = [0x06, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0x02, 0x03];
    let mut want = vec![49, 0, 0, 0]; // StructureSize, Reserved
    want.extend_from_slice(&[0x04, 0x02, 0x14, 0x00]); // CtlCode
    want.extend_from_slice(&[0xFF; 16]); // FileId (offset 8)
    want.extend_from_slice(&[112, 0, 0, 0, 0, 0, 0, 0]); // InputOffset 112, InputCount 0 (offset 24)
    want.extend_from_slice(&[112, 0, 0, 0, 24, 0, 0, 0]); // OutputOffset 112, OutputCount 24 (offset 32)
    want.extend_from_slice(&[0; 8]); // Flags, Reserved2 (offset 40)
    want.extend_from_slice(&out); // Buffer (offset 48 = 112 from header)
    assert_eq!(to_vec(|b| encode_ioctl_response(FSCTL_VALIDATE_NEGOTIATE_INFO, FileId::RELATED, &out, b)), want);
    let m = msg(&want);
    let r = decode_ioctl_response(&m).unwrap();
    assert_eq!(
        r,
        IoctlResponse { ctl_code: FSCTL_VALIDATE_NEGOTIATE_INFO, file_id: FileId::RELATED, output: &out[..] }
    );
    let v = ValidateNegotiateResponse { capabilities: 6, guid: [1; 16], security_mode: 1, dialect: 0x0302 };
    assert_eq!(encode_validate_negotiate_response(6, &[1; 16], 1, 0x0302), out);
    assert_eq!(decode_validate_negotiate_response(&out), Ok(v));
    assert!(decode_validate_negotiate_response(&out[..23]).is_err());
}

impl Arbitrary for ValidateNegotiateInfo {
    fn arbitrary(g: &mut Gen) -> Self {
        let n = usize::arbitrary(g) % 65;
        ValidateNegotiateInfo {
            capabilities: u32::arbitrary(g),
            guid: guid(g),
            security_mode: u16::arbitrary(g),
            dialects: (0..n).map(|_| u16::arbitrary(g)).collect(),
        }
    }
}

quickcheck! {
    fn ioctl_request_round_trip(ctl_code: u32, file_id: FileId, input: Vec<u8>, max_output: u32, flags: u32) -> bool {
        let r = IoctlRequest { ctl_code, file_id, input: &input[..input.len().min(4096)], max_output, flags };
        IoctlRequest::decode(&msg(&to_vec(|b| r.encode(b)))) == Ok(r)
    }

    fn ioctl_response_round_trip(ctl_code: u32, file_id: FileId, output: Vec<u8>) -> bool {
        let output = &output[..output.len().min(4096)];
        let want = IoctlResponse { ctl_code, file_id, output };
        decode_ioctl_response(&msg(&to_vec(|b| encode_ioctl_response(ctl_code, file_id, output, b)))) == Ok(want)
    }

    fn validate_negotiate_round_trip(v: ValidateNegotiateInfo, dialect: u16) -> bool {
        let r = ValidateNegotiateResponse {
            capabilities: v.capabilities, guid: v.guid, security_mode: v.security_mode, dialect
        };
        let out = encode_validate_negotiate_response(r.capabilities, &r.guid, r.security_mode, dialect);
        ValidateNegotiateInfo::decode(&to_vec(|b| v.encode(b))) == Ok(v) && decode_validate_negotiate_response(&out) == Ok(r)
    }

    fn responses_decode_never_panics(b: Vec<u8>) -> bool {
        let _ = decode_ioctl_response(&b);
        let _ = decode_ioctl_response(&msg(&b));
        true
    }
}
