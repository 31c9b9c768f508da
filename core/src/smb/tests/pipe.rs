//! The srvsvc pipe over SMB2: CREATE on IPC$, WRITE/READ, transceive,
//! QUERY_INFO, CLOSE and TREE_DISCONNECT.

use super::*;
use crate::smb::pipe::dcerpc::tests::{SRVSVC_WIRE, bind_pdu};
use crate::smb::pipe::dcerpc::{PduHeader, ptype};
use crate::smb::wire::ioctl::IoctlRequest;

const FSCTL_PIPE_TRANSCEIVE: u32 = 0x0011_C017;

fn ipc() -> Client {
    let mut c = Client::new();
    c.login_anonymous();
    let r = c.tree_connect("\\\\x\\IPC$");
    assert_eq!(r.status(), status::SUCCESS);
    c.tree = r.hdr.tree_id;
    c
}

fn transceive(c: &mut Client, fid: FileId, input: &[u8], max_output: u32) -> Resp {
    let mut body = Vec::new();
    IoctlRequest { ctl_code: FSCTL_PIPE_TRANSCEIVE, file_id: fid, input, max_output, flags: 1 }.encode(&mut body);
    c.call(command::IOCTL, &body)
}

/// The output buffer of an IOCTL response.
fn ioctl_output(r: &Resp) -> &[u8] {
    let off = u32_at(&r.body, 32).unwrap() as usize - 64;
    let len = u32_at(&r.body, 36).unwrap() as usize;
    &r.body[off..off + len]
}

fn enum_request() -> Vec<u8> {
    let stub: Vec<u8> = [0u32, 1, 1, 0x0002_0000, 0, 0, u32::MAX, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut b = vec![5, 0, 0, 3, 0x10, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0];
    b.extend_from_slice(&(stub.len() as u32).to_le_bytes());
    b.extend_from_slice(&[0, 0, 15, 0]);
    b.extend_from_slice(&stub);
    let n = b.len() as u16;
    b[8..10].copy_from_slice(&n.to_le_bytes());
    b
}

#[test]
fn srvsvc_open_bind_and_share_enum() {
    let mut c = ipc();
    assert_eq!(c.create("lsarpc", RW, SHARE_ALL, disposition::OPEN, 0).status(), status::OBJECT_NAME_NOT_FOUND);
    let r = c.create("\\SRVSVC", RW, SHARE_ALL, disposition::OPEN, 0);
    assert_eq!(r.status(), status::SUCCESS);
    assert_eq!(u32_at(&r.body, 4).unwrap(), 1, "FILE_OPENED");
    let fid = r.file_id();

    // Nothing written yet.
    assert_eq!(c.call(command::READ, &read_body(fid, 0, 4280)).status(), status::PIPE_EMPTY);
    // BIND by WRITE, BIND_ACK by READ.
    let w = c.call(command::WRITE, &write_body(fid, 0, &bind_pdu(&SRVSVC_WIRE)));
    assert_eq!((w.status(), u32_at(&w.body, 4).unwrap()), (status::SUCCESS, 116));
    let rd = c.call(command::READ, &read_body(fid, 0, 4280));
    assert_eq!(rd.status(), status::SUCCESS);
    let ack = &rd.body[16..];
    assert_eq!(PduHeader::decode(ack).unwrap().ptype, ptype::BIND_ACK);

    // The call by transceive; a small MaxOutputResponse gets
    // BUFFER_OVERFLOW and the rest by READ.
    let t = transceive(&mut c, fid, &enum_request(), 4280);
    assert_eq!(t.status(), status::SUCCESS);
    let resp = ioctl_output(&t).to_vec();
    assert_eq!(PduHeader::decode(&resp).unwrap().ptype, ptype::RESPONSE);
    let utf16 = |s: &str| s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect::<Vec<u8>>();
    assert!(resp.windows(10).any(|w| w == utf16("share")), "share listed");
    assert!(resp.windows(8).any(|w| w == utf16("IPC$")), "IPC$ listed");

    let t = transceive(&mut c, fid, &enum_request(), 40);
    assert_eq!(t.status(), status::BUFFER_OVERFLOW);
    let mut joined = ioctl_output(&t).to_vec();
    assert_eq!(joined.len(), 40);
    let rd = c.call(command::READ, &read_body(fid, 0, 4280));
    assert_eq!(rd.status(), status::SUCCESS);
    joined.extend_from_slice(&rd.body[16..]);
    assert_eq!(joined, resp);

    // FileStandardInformation: allocation 4096, one link, delete pending.
    let q = c.call(command::QUERY_INFO, &query_info_body(fid, 1, 5));
    assert_eq!(q.status(), status::SUCCESS);
    let info = &q.body[8..32];
    assert_eq!(u64_at(info, 0).unwrap(), 4096);
    assert_eq!((u32_at(info, 16).unwrap(), info[20], info[21]), (1, 1, 0));

    assert_eq!(c.call(command::CLOSE, &close_body(fid, 0)).status(), status::SUCCESS);
    assert_eq!(c.call(command::READ, &read_body(fid, 0, 10)).status(), status::FILE_CLOSED);
}

#[test]
fn tree_disconnect_closes_pipes() {
    let mut c = ipc();
    let fid = c.create("srvsvc", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
    assert_eq!(c.call(command::TREE_DISCONNECT, &[4, 0, 0, 0]).status(), status::SUCCESS);
    let r = c.tree_connect("\\\\x\\IPC$");
    c.tree = r.hdr.tree_id;
    assert_eq!(c.call(command::WRITE, &write_body(fid, 0, &[1])).status(), status::FILE_CLOSED);
    // A pipe FileId is not usable from a disk tree either.
    let fid = c.create("srvsvc", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
    let r = c.tree_connect("\\\\x\\share");
    c.tree = r.hdr.tree_id;
    assert_eq!(c.call(command::READ, &read_body(fid, 0, 10)).status(), status::FILE_CLOSED);
}
