//! Golden stubs built by hand from MS-SRVS 3.1.4 and the NDR rules of
//! C706 14 (referents from 0x00020000 in steps of 4).

use super::*;

/// A conformant varying UTF-16 string with NUL, padded to 4.
fn s(text: &str) -> Vec<u8> {
    let n = text.encode_utf16().count() as u32 + 1;
    let mut b = Vec::new();
    for v in [n, 0, n] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for u in text.encode_utf16().chain([0]) {
        b.extend_from_slice(&u.to_le_bytes());
    }
    while b.len() % 4 != 0 {
        b.push(0);
    }
    b
}

fn u(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

fn view() -> ServerView {
    ServerView::new("POLYSHARE", [("share".to_string(), String::new())])
}

/// NetrShareEnum as smbclient sends it: server name, level 1, empty
/// container, PreferedMaximumLength all ones, a resume handle of 0.
fn share_enum_request(level: u32, resume: bool) -> Vec<u8> {
    let mut b = u(0x0002_0000).to_vec();
    b.extend(s("\\\\127.0.0.1"));
    b.extend(u(level));
    b.extend(u(level));
    b.extend(u(0x0002_0004)); // container
    b.extend(u(0)); // EntriesRead
    b.extend(u(0)); // Buffer: null
    b.extend(u(u32::MAX));
    if resume {
        b.extend(u(0x0002_0008));
        b.extend(u(0));
    } else {
        b.extend(u(0));
    }
    b
}

#[test]
fn share_enum_level_1() {
    let got = call(&view(), opnum::NETR_SHARE_ENUM, &share_enum_request(1, true)).unwrap();
    let mut want = Vec::new();
    want.extend(u(1)); // Level
    want.extend(u(1)); // switch
    want.extend(u(0x0002_0000)); // container
    want.extend(u(2)); // EntriesRead
    want.extend(u(0x0002_0004)); // Buffer
    want.extend(u(2)); // conformance
    want.extend(u(0x0002_0008));
    want.extend(u(STYPE_DISKTREE));
    want.extend(u(0x0002_000c));
    want.extend(u(0x0002_0010));
    want.extend(u(0x8000_0003));
    want.extend(u(0x0002_0014));
    want.extend(s("share"));
    want.extend(s(""));
    want.extend(s("IPC$"));
    want.extend(s("IPC Service"));
    want.extend(u(2)); // TotalEntries
    want.extend(u(0x0002_0018)); // ResumeHandle
    want.extend(u(0));
    want.extend(u(ERROR_SUCCESS));
    assert_eq!(got, want);
}

#[test]
fn share_enum_level_0_without_resume_handle() {
    let got = call(&view(), opnum::NETR_SHARE_ENUM, &share_enum_request(0, false)).unwrap();
    let mut want = Vec::new();
    for v in [0, 0, 0x0002_0000, 2, 0x0002_0004, 2, 0x0002_0008, 0x0002_000c] {
        want.extend(u(v));
    }
    want.extend(s("share"));
    want.extend(s("IPC$"));
    want.extend(u(2));
    want.extend(u(0)); // null ResumeHandle
    want.extend(u(0));
    assert_eq!(got, want);
}

#[test]
fn share_enum_bad_level_and_truncated_stub() {
    let got = call(&view(), opnum::NETR_SHARE_ENUM, &share_enum_request(7, false)).unwrap();
    let want: Vec<u8> = [7, 7, 0, 2, 0, ERROR_INVALID_LEVEL].iter().flat_map(|v| u(*v)).collect();
    assert_eq!(got, want);
    let req = share_enum_request(1, true);
    for cut in 0..req.len() - 1 {
        assert_eq!(call(&view(), opnum::NETR_SHARE_ENUM, &req[..cut]), Err(NCA_S_FAULT_NDR), "cut at {cut}");
    }
    assert_eq!(call(&view(), 99, &req), Err(NCA_S_OP_RNG_ERROR));
}

fn get_info_request(name: &str, level: u32) -> Vec<u8> {
    let mut b = u(0).to_vec(); // null server name
    b.extend(s(name));
    b.extend(u(level));
    b
}

#[test]
fn share_get_info() {
    let got = call(&view(), opnum::NETR_SHARE_GET_INFO, &get_info_request("SHARE", 1)).unwrap();
    let mut want = Vec::new();
    for v in [1, 0x0002_0000, 0x0002_0004, STYPE_DISKTREE, 0x0002_0008] {
        want.extend(u(v));
    }
    want.extend(s("share"));
    want.extend(s(""));
    want.extend(u(0));
    assert_eq!(got, want);

    let got = call(&view(), opnum::NETR_SHARE_GET_INFO, &get_info_request("nope", 1)).unwrap();
    let want: Vec<u8> = [1, 0, NERR_NET_NAME_NOT_FOUND].iter().flat_map(|v| u(*v)).collect();
    assert_eq!(got, want);

    let got = call(&view(), opnum::NETR_SHARE_GET_INFO, &get_info_request("IPC$", 501)).unwrap();
    let mut want = Vec::new();
    for v in [501, 0x0002_0000, 0x0002_0004, 0x8000_0003, 0x0002_0008, 0] {
        want.extend(u(v));
    }
    want.extend(s("IPC$"));
    want.extend(s("IPC Service"));
    want.extend(u(0));
    assert_eq!(got, want);
}

#[test]
fn share_get_info_502_and_sticky_enum() {
    let got = call(&view(), opnum::NETR_SHARE_GET_INFO, &get_info_request("share", 502)).unwrap();
    let mut want = Vec::new();
    for v in [502, 0x0002_0000, 0x0002_0004, STYPE_DISKTREE, 0x0002_0008, 0, u32::MAX, 0, 0x0002_000c, 0, 0, 0] {
        want.extend(u(v));
    }
    want.extend(s("share"));
    want.extend(s(""));
    want.extend(s(""));
    want.extend(u(0));
    assert_eq!(got, want);
    let req = share_enum_request(1, true);
    assert_eq!(call(&view(), opnum::NETR_SHARE_ENUM_STICKY, &req), call(&view(), opnum::NETR_SHARE_ENUM, &req));
}

#[test]
fn server_get_info_101() {
    let mut req = u(0).to_vec();
    req.extend(u(101));
    let got = call(&view(), opnum::NETR_SERVER_GET_INFO, &req).unwrap();
    let mut want = Vec::new();
    for v in [101, 0x0002_0000, 500, 0x0002_0004, 6, 1, 0x8003, 0x0002_0008] {
        want.extend(u(v));
    }
    want.extend(s("POLYSHARE"));
    want.extend(s(""));
    want.extend(u(0));
    assert_eq!(got, want);
}

quickcheck::quickcheck! {
    fn calls_never_panic(opnum: u16, stub: Vec<u8>) -> bool {
        let _ = call(&view(), opnum % 24, &stub);
        true
    }
}
