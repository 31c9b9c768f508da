//! A pipe open driven with whole PDUs: bind, calls, faults, fragments and
//! the output bound.

use super::dcerpc::tests::{NDR_WIRE, SRVSVC_WIRE, bind_pdu};
use super::*;
use crate::smb::wire::codec::FileId;

fn open() -> PipeOpen {
    PipeOpen::new(FileId { persistent: 1, volatile: 2 }, 1, "srvsvc")
}

fn view() -> ServerView {
    ServerView::new("POLYSHARE", [("share".to_string(), String::new())])
}

/// A REQUEST PDU of `call_id` with `flags`.
fn request(call_id: u32, context_id: u16, opnum: u16, flags: u8, stub: &[u8]) -> Vec<u8> {
    let mut b = vec![5, 0, 0, flags, 0x10, 0, 0, 0, 0, 0, 0, 0];
    b.extend_from_slice(&call_id.to_le_bytes());
    b.extend_from_slice(&(stub.len() as u32).to_le_bytes());
    b.extend_from_slice(&context_id.to_le_bytes());
    b.extend_from_slice(&opnum.to_le_bytes());
    b.extend_from_slice(stub);
    let n = b.len() as u16;
    b[8..10].copy_from_slice(&n.to_le_bytes());
    b
}

/// NetrShareEnum level 1, no server name, no resume handle.
fn enum_stub() -> Vec<u8> {
    [0u32, 1, 1, 0x0002_0000, 0, 0, u32::MAX, 0].iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn take(p: &mut PipeOpen) -> Vec<u8> {
    let (m, more) = p.read(65536);
    assert!(!more);
    m
}

fn bound() -> PipeOpen {
    let mut p = open();
    p.write(&bind_pdu(&SRVSVC_WIRE), &view()).unwrap();
    let ack = take(&mut p);
    assert_eq!(ack[2], ptype::BIND_ACK);
    p
}

#[test]
fn pipe_names() {
    assert_eq!(pipe_name("srvsvc"), Some("srvsvc"));
    assert_eq!(pipe_name("\\SRVSVC"), Some("srvsvc"));
    assert_eq!(pipe_name("lsarpc"), None);
    assert_eq!(pipe_name("srvsvc\\x"), None);
}

#[test]
fn bind_accepts_ndr_and_refuses_ndr64() {
    let mut p = open();
    p.write(&bind_pdu(&SRVSVC_WIRE), &view()).unwrap();
    let ack = take(&mut p);
    assert_eq!(ack.len(), 92);
    assert_eq!(&ack[26..39], b"\\PIPE\\srvsvc\0");
    assert_eq!(&ack[44..48], &[0, 0, 0, 0]);
    assert_eq!(&ack[48..68], &NDR_WIRE);
    assert_eq!(&ack[68..72], &[2, 0, 2, 0], "provider rejection, transfer syntaxes not supported");
    assert_eq!(p.bound, Some(0));
}

#[test]
fn other_interfaces_get_a_bind_nak() {
    let mut lsa = SRVSVC_WIRE;
    lsa[0] ^= 0xFF;
    let mut p = open();
    p.write(&bind_pdu(&lsa), &view()).unwrap();
    let nak = take(&mut p);
    assert_eq!((nak[2], nak.len()), (ptype::BIND_NAK, 22));
    assert_eq!(p.bound, None);
}

#[test]
fn share_enum_round_trip() {
    let mut p = bound();
    p.write(&request(2, 0, 15, 3, &enum_stub()), &view()).unwrap();
    let r = take(&mut p);
    let h = PduHeader::decode(&r).unwrap();
    assert_eq!((h.ptype, h.flags, h.call_id), (ptype::RESPONSE, 3, 2));
    let stub = &r[24..];
    assert_eq!(stub, srvsvc::call(&view(), 15, &enum_stub()).unwrap());
    assert_eq!(p.available(), 0);
}

#[test]
fn faults() {
    let mut p = open();
    // Before any bind: unknown interface.
    p.write(&request(1, 0, 15, 3, &enum_stub()), &view()).unwrap();
    let f = take(&mut p);
    assert_eq!((f[2], &f[24..28]), (ptype::FAULT, &NCA_S_UNK_IF.to_le_bytes()[..]));
    let mut p = bound();
    p.write(&request(2, 0, 40, 3, &enum_stub()), &view()).unwrap();
    let f = take(&mut p);
    assert_eq!((f[2], &f[24..28]), (ptype::FAULT, &NCA_S_OP_RNG_ERROR.to_le_bytes()[..]));
    p.write(&request(3, 0, 15, 3, &[1, 2]), &view()).unwrap();
    let f = take(&mut p);
    assert_eq!((f[2], &f[24..28]), (ptype::FAULT, &NCA_S_FAULT_NDR.to_le_bytes()[..]));
    // A garbage header: an error, the input is dropped.
    assert!(matches!(p.write(&[9; 20], &view()), Err(PipeError::Pdu(_))));
    assert_eq!(p.available(), 0);
}

#[test]
fn split_writes_and_fragmented_requests() {
    let mut p = bound();
    let stub = enum_stub();
    // One PDU over two writes.
    let pdu = request(2, 0, 15, 3, &stub);
    p.write(&pdu[..10], &view()).unwrap();
    assert_eq!(p.available(), 0);
    p.write(&pdu[10..], &view()).unwrap();
    let whole = take(&mut p);
    // The same call in two fragments, both PDUs in one write.
    let mut two = request(3, 0, 15, PFC_FIRST_FRAG, &stub[..12]);
    two.extend(request(3, 0, 15, PFC_LAST_FRAG, &stub[12..]));
    p.write(&two, &view()).unwrap();
    let r = take(&mut p);
    assert_eq!(r[24..], whole[24..]);
}

#[test]
fn long_responses_are_fragments_read_in_parts() {
    let shares = (0..100).map(|i| (format!("share-with-a-long-name-{i:03}"), "a remark".to_string()));
    let v = ServerView::new("S", shares);
    let mut p = open();
    let mut bind = bind_pdu(&SRVSVC_WIRE);
    bind[18..20].copy_from_slice(&1432u16.to_le_bytes()); // client max_recv_frag
    p.write(&bind, &v).unwrap();
    take(&mut p);
    p.write(&request(2, 0, 15, 3, &enum_stub()), &v).unwrap();
    let mut stub = Vec::new();
    let (mut frags, mut overflows) = (0, 0);
    loop {
        // A 1000-byte read gets part of a long fragment and BUFFER_OVERFLOW.
        let (mut f, more) = p.read(1000);
        if more {
            overflows += 1;
            let (tail, more) = p.read(1000);
            assert!(!more);
            f.extend(tail);
        }
        assert!(f.len() <= 1432);
        let h = PduHeader::decode(&f).unwrap();
        assert_eq!(usize::from(h.frag_length), f.len());
        stub.extend_from_slice(&f[24..]);
        frags += 1;
        if h.flags & PFC_LAST_FRAG != 0 {
            break;
        }
    }
    assert!(frags > 3 && overflows >= frags - 1);
    assert_eq!(stub, srvsvc::call(&v, 15, &enum_stub()).unwrap());
    assert_eq!(p.available(), 0);
}

#[test]
fn output_is_bounded() {
    let mut p = bound();
    let pdu = request(2, 0, 15, 3, &enum_stub());
    let mut refused = false;
    for _ in 0..100_000 {
        if p.write(&pdu, &view()) == Err(PipeError::Full) {
            refused = true;
            break;
        }
    }
    assert!(refused);
    assert!(p.available() <= MAX_OUTPUT + usize::from(MAX_FRAG));
}

quickcheck::quickcheck! {
    fn writes_never_panic(chunks: Vec<Vec<u8>>, bind_first: bool) -> bool {
        let mut p = if bind_first { bound() } else { open() };
        for c in chunks {
            let _ = p.write(&c, &view());
            let _ = p.read(c.len());
        }
        true
    }
}
