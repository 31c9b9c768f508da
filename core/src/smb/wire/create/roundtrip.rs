//! Golden bytes for CREATE/CLOSE halves not covered inline, and quickcheck
//! round trips (MS-SMB2 2.2.13-2.2.16).

use bytes::Bytes;
use quickcheck::{Arbitrary, Gen, quickcheck};

use super::*;
use crate::smb::wire::testutil::{bytes, msg, name};

fn request(name: &str, contexts: &[u8]) -> CreateRequest {
    CreateRequest {
        oplock_level: 0,
        impersonation_level: 2,
        desired_access: 0x0012_0089,
        file_attributes: 0x80,
        share_access: 7,
        disposition: disposition::OPEN_IF,
        options: options::NON_DIRECTORY_FILE,
        name: name.to_string(),
        contexts: Bytes::copy_from_slice(contexts),
    }
}

#[test]
fn golden_request_encode_matches_hand_built() {
    let want = super::tests::create_request("a\\b.txt", 0x0012_0089, 7, disposition::OPEN_IF, 0x40);
    assert_eq!(to_vec(|b| request("a\\b.txt", &[]).encode(b)), want[64..]);
}

#[test]
fn golden_request_with_contexts() {
    let mut b = vec![57, 0, 0, 9]; // StructureSize, SecurityFlags, RequestedOplockLevel BATCH
    b.extend_from_slice(&[2, 0, 0, 0]); // ImpersonationLevel Impersonation
    b.extend_from_slice(&[0; 16]); // SmbCreateFlags, Reserved
    b.extend_from_slice(&[0x89, 0, 0x12, 0]); // DesiredAccess (offset 24)
    b.extend_from_slice(&[0x80, 0, 0, 0]); // FileAttributes NORMAL
    b.extend_from_slice(&[7, 0, 0, 0]); // ShareAccess
    b.extend_from_slice(&[3, 0, 0, 0]); // CreateDisposition OPEN_IF
    b.extend_from_slice(&[0x40, 0, 0, 0]); // CreateOptions NON_DIRECTORY_FILE
    b.extend_from_slice(&[120, 0, 2, 0]); // NameOffset 120, NameLength 2 (offset 44)
    b.extend_from_slice(&[128, 0, 0, 0, 8, 0, 0, 0]); // CreateContextsOffset 128, Length 8 (offset 48)
    b.extend_from_slice(&[b'a', 0]); // Name (offset 56 = 120 from header)
    b.extend_from_slice(&[0; 6]); // pad 122 to 128
    b.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]); // contexts (opaque here)
    let r = CreateRequest { oplock_level: 9, ..request("a", &[1, 2, 3, 4, 5, 6, 7, 8]) };
    assert_eq!(to_vec(|b| r.encode(b)), b);
    assert_eq!(CreateRequest::decode(&msg(&b)), Ok(r));
}

fn golden_info() -> NetworkOpenInfo {
    NetworkOpenInfo {
        creation: 0x11,
        last_access: 0x22,
        last_write: 0x33,
        change: 0x44,
        allocation_size: 4096,
        end_of_file: 5,
        attributes: 0x20,
    }
}

fn golden_info_bytes() -> Vec<u8> {
    let mut b = Vec::new();
    for v in [0x11u64, 0x22, 0x33, 0x44, 4096, 5] {
        b.extend_from_slice(&v.to_le_bytes()); // CreationTime .. EndofFile
    }
    b.extend_from_slice(&[0x20, 0, 0, 0]); // FileAttributes ARCHIVE
    b
}

#[test]
fn golden_create_response_decode() {
    let mut b = vec![89, 0, 2, 0]; // StructureSize, OplockLevel II, Flags
    b.extend_from_slice(&[2, 0, 0, 0]); // CreateAction CREATED
    b.extend_from_slice(&golden_info_bytes()); // offsets 8..60
    b.extend_from_slice(&[0; 4]); // Reserved2
    b.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]); // FileId (offset 64)
    b.extend_from_slice(&[152, 0, 0, 0, 4, 0, 0, 0]); // CreateContextsOffset 152, Length 4 (offset 80)
    b.extend_from_slice(&[0xC1, 0xC2, 0xC3, 0xC4]);
    let fid = FileId { persistent: 1, volatile: 2 };
    assert_eq!(encode_create_response(2, action::CREATED, &golden_info(), fid, &[0xC1, 0xC2, 0xC3, 0xC4]), b);
    let m = msg(&b);
    let r = decode_create_response(&m).unwrap();
    assert_eq!(
        r,
        CreateResponse {
            oplock_level: 2,
            create_action: action::CREATED,
            info: golden_info(),
            file_id: fid,
            contexts: &[0xC1, 0xC2, 0xC3, 0xC4]
        }
    );
}

#[test]
fn golden_close() {
    let fid = FileId { persistent: 3, volatile: 4 };
    let mut req = vec![24, 0, 1, 0, 0, 0, 0, 0]; // StructureSize, Flags POSTQUERY_ATTRIB, Reserved
    req.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]); // FileId
    assert_eq!(to_vec(|b| encode_close(CLOSE_FLAG_POSTQUERY_ATTRIB, fid, b)), req);
    assert_eq!(decode_close(&msg(&req)), Ok((CLOSE_FLAG_POSTQUERY_ATTRIB, fid)));
    let mut resp = vec![60, 0, 1, 0, 0, 0, 0, 0]; // StructureSize, Flags, Reserved
    resp.extend_from_slice(&golden_info_bytes());
    assert_eq!(to_vec(|b| encode_close_response(Some(&golden_info()), b)), resp);
    assert_eq!(decode_close_response(&msg(&resp)), Ok(Some(golden_info())));
    let mut none = vec![60, 0, 0, 0, 0, 0, 0, 0];
    none.resize(60, 0);
    assert_eq!(to_vec(|b| encode_close_response(None, b)), none);
    assert_eq!(decode_close_response(&msg(&none)), Ok(None));
}

impl Arbitrary for NetworkOpenInfo {
    fn arbitrary(g: &mut Gen) -> Self {
        NetworkOpenInfo {
            creation: u64::arbitrary(g),
            last_access: u64::arbitrary(g),
            last_write: u64::arbitrary(g),
            change: u64::arbitrary(g),
            allocation_size: u64::arbitrary(g),
            end_of_file: u64::arbitrary(g),
            attributes: u32::arbitrary(g),
        }
    }
}

impl Arbitrary for CreateRequest {
    fn arbitrary(g: &mut Gen) -> Self {
        CreateRequest {
            oplock_level: u8::arbitrary(g),
            impersonation_level: u32::arbitrary(g),
            desired_access: u32::arbitrary(g),
            file_attributes: u32::arbitrary(g),
            share_access: u32::arbitrary(g),
            disposition: u32::arbitrary(g),
            options: u32::arbitrary(g),
            name: name(g),
            contexts: Bytes::from(bytes(g, 4096)),
        }
    }
}

quickcheck! {
    fn create_request_round_trip(r: CreateRequest) -> bool {
        CreateRequest::decode(&msg(&to_vec(|b| r.encode(b)))) == Ok(r)
    }

    fn create_response_round_trip(level: u8, act: u32, info: NetworkOpenInfo, fid: FileId, ctx: Vec<u8>) -> bool {
        let ctx = &ctx[..ctx.len().min(4096)];
        let want = CreateResponse { oplock_level: level, create_action: act, info, file_id: fid, contexts: ctx };
        decode_create_response(&msg(&encode_create_response(level, act, &info, fid, ctx))) == Ok(want)
    }

    fn close_round_trip(flags: u16, fid: FileId, info: Option<NetworkOpenInfo>) -> bool {
        decode_close(&msg(&to_vec(|b| encode_close(flags, fid, b)))) == Ok((flags, fid))
            && decode_close_response(&msg(&to_vec(|b| encode_close_response(info.as_ref(), b)))) == Ok(info)
    }

    fn responses_decode_never_panics(b: Vec<u8>) -> bool {
        let _ = decode_create_response(&b);
        let _ = decode_close_response(&b);
        true
    }
}
