//! Golden layouts from MS-SMB2 2.2.

use super::*;

#[test]
fn request_header_layout() {
    let h = RequestHeader {
        command: command::WRITE,
        credit_charge: 2,
        credit_request: 32,
        message_id: 0x0102030405060708,
        tree_id: 0xAABBCCDD,
        session_id: 0x1122334455667788,
    };
    let m = encode_request(&h, &[0xEE]);
    #[rustfmt::skip]
    let expect = [
        0x00, 0x00, 0x00, 0x41,                         // Direct TCP: 65 bytes
        0xFE, b'S', b'M', b'B', 0x40, 0x00, 0x02, 0x00, // ProtocolId, StructureSize, CreditCharge
        0, 0, 0, 0, 0x09, 0x00, 0x20, 0x00,             // ChannelSequence, Command, CreditRequest
        0, 0, 0, 0, 0, 0, 0, 0,                         // Flags, NextCommand
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, // MessageId
        0xFF, 0xFE, 0, 0, 0xDD, 0xCC, 0xBB, 0xAA,       // Reserved, TreeId
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, // SessionId
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // Signature
        0xEE,
    ];
    assert_eq!(m, expect);
}

#[test]
fn response_header_decoding() {
    let mut m = encode_request(
        &RequestHeader {
            command: command::READ,
            credit_charge: 1,
            credit_request: 7,
            message_id: 9,
            tree_id: 3,
            session_id: 5,
        },
        &[],
    )
    .split_off(4);
    m[8..12].copy_from_slice(&status::END_OF_FILE.to_le_bytes());
    m[16] = 0x03; // SERVER_TO_REDIR | ASYNC
    let h = decode_header(&m).unwrap();
    assert_eq!(
        h,
        Header {
            credit_charge: 1,
            status: status::END_OF_FILE,
            command: command::READ,
            credits: 7,
            flags: 3,
            message_id: 9,
            tree_or_async_id: 3 << 32 | 0xFEFF,
            session_id: 5
        }
    );
    assert!(decode_header(&m[..63]).is_err());
    m[0] = 0xFF;
    assert!(decode_header(&m).is_err());
}

#[test]
fn negotiate_layout() {
    let b = negotiate(&[0x0210, 0x0302], [0x11; 16]);
    let mut expect = vec![36, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    expect.extend([0x11; 16]);
    expect.extend([0; 8]);
    expect.extend([0x10, 0x02, 0x02, 0x03]);
    assert_eq!(b, expect);
}

#[test]
fn session_setup_and_tree_connect_layout() {
    let b = session_setup(b"TOK");
    assert_eq!(b, [25, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 88, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'T', b'O', b'K']);
    let t = tree_connect("\\\\h\\s");
    assert_eq!(t, [9, 0, 0, 0, 72, 0, 10, 0, b'\\', 0, b'\\', 0, b'h', 0, b'\\', 0, b's', 0]);
}

#[test]
fn create_layout() {
    let b = create(&CreateRequest {
        name: "a",
        desired_access: 0x0012_0089,
        share_access: SHARE_ALL,
        disposition: FILE_OPEN_IF,
        options: FILE_NON_DIRECTORY_FILE,
    });
    assert_eq!(b.len(), 56 + 2);
    assert_eq!(b[..4], [57, 0, 0, 0]);
    assert_eq!(b[4..8], [2, 0, 0, 0]);
    assert_eq!(b[24..28], [0x89, 0, 0x12, 0]);
    assert_eq!(b[28..32], [0x80, 0, 0, 0]);
    assert_eq!(b[32..36], [7, 0, 0, 0]);
    assert_eq!(b[36..40], [3, 0, 0, 0]);
    assert_eq!(b[40..44], [0x40, 0, 0, 0]);
    assert_eq!(b[44..48], [120, 0, 2, 0]);
    assert_eq!(b[48..56], [0; 8]);
    assert_eq!(b[56..], [b'a', 0]);
    assert_eq!(create(&CreateRequest { name: "", ..CreateRequest::default_for_tests() }).len(), 57);
}

impl CreateRequest<'_> {
    fn default_for_tests() -> Self {
        CreateRequest { name: "", desired_access: 0, share_access: 0, disposition: FILE_OPEN, options: 0 }
    }
}

#[test]
fn io_layouts() {
    let fid = [0xF0; 16];
    let r = read(&fid, 0x1000, 0x2000);
    let mut expect = vec![49, 0, 0x50, 0, 0, 0x20, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0];
    expect.extend(fid);
    expect.extend([0; 17]);
    assert_eq!(r, expect);

    let w = write(&fid, 3, b"xy");
    let mut expect = vec![49, 0, 112, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0];
    expect.extend(fid);
    expect.extend([0; 16]);
    expect.extend(b"xy");
    assert_eq!(w, expect);

    let s = set_info(&fid, SMB2_0_INFO_FILE, FILE_END_OF_FILE_INFORMATION, &7u64.to_le_bytes());
    let mut expect = vec![33, 0, 1, 20, 8, 0, 0, 0, 96, 0, 0, 0, 0, 0, 0, 0];
    expect.extend(fid);
    expect.extend([7, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(s, expect);

    let c = close(&fid);
    assert_eq!(c[..8], [24, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(c[8..], fid);
}

fn response(structure: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; HEADER_LEN];
    m[..4].copy_from_slice(b"\xfeSMB");
    m[4] = 64;
    m.extend_from_slice(structure);
    m
}

#[test]
fn response_bodies() {
    // READ response: DataOffset 80, DataLength 3.
    let mut rd = vec![17, 0, 80, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    rd.extend(b"abc");
    assert_eq!(read_response(&response(&rd)).unwrap(), b"abc");
    rd[4] = 4; // DataLength past the end
    assert!(read_response(&response(&rd)).is_err());
    assert_eq!(write_response(&response(&[17, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])).unwrap(), 9);

    let mut cr = vec![0u8; 88];
    cr[0] = 89;
    cr[48] = 0x34;
    cr[64..80].copy_from_slice(&[0xAB; 16]);
    assert_eq!(create_response(&response(&cr)).unwrap(), ([0xAB; 16], 0x34));
    assert!(create_response(&response(&cr[..70])).is_err());

    let mut ss = vec![9, 0, 1, 0, 72, 0, 2, 0];
    ss.extend(b"ok");
    assert_eq!(session_setup_response(&response(&ss)).unwrap(), (1, &b"ok"[..]));
    ss[6] = 3;
    assert!(session_setup_response(&response(&ss)).is_err());

    let mut ng = vec![0u8; 64];
    ng[0] = 65;
    ng[4..6].copy_from_slice(&0x0302u16.to_le_bytes());
    ng[32..36].copy_from_slice(&65536u32.to_le_bytes());
    ng[36..40].copy_from_slice(&131072u32.to_le_bytes());
    assert_eq!(negotiate_response(&response(&ng)).unwrap(), (0x0302, 65536, 131072));
    assert!(negotiate_response(&response(&[])).is_err());
}
