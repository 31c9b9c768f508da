//! Golden bytes built by hand from C706 12.6 and MS-RPCE 2.2.2.

use super::*;
use crate::smb::wire::codec::to_vec;
use crate::smb::pipe::srvsvc::SRVSVC_SYNTAX;

pub const SRVSVC_WIRE: [u8; 20] =
    [0xc8, 0x4f, 0x32, 0x4b, 0x70, 0x16, 0xd3, 0x01, 0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88, 3, 0, 0, 0];
pub const NDR_WIRE: [u8; 20] =
    [0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 2, 0, 0, 0];
/// NDR64: 71710533-beba-4937-8319-b5dbef9ccc36 v1.
pub const NDR64_WIRE: [u8; 20] =
    [0x33, 0x05, 0x71, 0x71, 0xba, 0xbe, 0x37, 0x49, 0x83, 0x19, 0xb5, 0xdb, 0xef, 0x9c, 0xcc, 0x36, 1, 0, 0, 0];

/// A BIND of call 1 offering srvsvc over NDR (context 0) and NDR64
/// (context 1), max frags 4280.
pub fn bind_pdu(abstract_syntax: &[u8; 20]) -> Vec<u8> {
    let mut b = vec![5, 0, 11, 3, 0x10, 0, 0, 0, 116, 0, 0, 0, 1, 0, 0, 0];
    b.extend_from_slice(&[0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0]);
    b.extend_from_slice(&[2, 0, 0, 0]);
    b.extend_from_slice(&[0, 0, 1, 0]);
    b.extend_from_slice(abstract_syntax);
    b.extend_from_slice(&NDR_WIRE);
    b.extend_from_slice(&[1, 0, 1, 0]);
    b.extend_from_slice(abstract_syntax);
    b.extend_from_slice(&NDR64_WIRE);
    assert_eq!(b.len(), 116);
    b
}

#[test]
fn syntax_constants_match_their_wire_form() {
    let mut b = Vec::new();
    NDR_SYNTAX.encode(&mut b);
    SRVSVC_SYNTAX.encode(&mut b);
    assert_eq!(&b[..20], &NDR_WIRE);
    assert_eq!(&b[20..], &SRVSVC_WIRE);
}

#[test]
fn decodes_a_bind() {
    let pdu = bind_pdu(&SRVSVC_WIRE);
    let h = PduHeader::decode(&pdu).unwrap();
    assert_eq!(
        h,
        PduHeader {
            ptype: ptype::BIND,
            flags: PFC_FIRST_FRAG | PFC_LAST_FRAG,
            frag_length: 116,
            auth_length: 0,
            call_id: 1
        }
    );
    let b = Bind::decode(&pdu).unwrap();
    assert_eq!((b.max_xmit_frag, b.max_recv_frag, b.assoc_group_id), (4280, 4280, 0));
    assert_eq!(b.contexts.len(), 2);
    assert_eq!(b.contexts[0].abstract_syntax, SRVSVC_SYNTAX);
    assert_eq!(b.contexts[0].transfer_syntaxes, vec![NDR_SYNTAX]);
    assert_eq!(b.contexts[1].context_id, 1);
    // Cut short: an error, not a panic.
    assert_eq!(Bind::decode(&pdu[..100]), Err(PduError::Short));
}

#[test]
fn header_checks() {
    let mut pdu = bind_pdu(&SRVSVC_WIRE);
    assert_eq!(PduHeader::decode(&pdu[..15]), Err(PduError::Short));
    pdu[4] = 0; // big-endian
    assert_eq!(PduHeader::decode(&pdu), Err(PduError::Drep));
    pdu[4] = 0x10;
    pdu[0] = 4;
    assert_eq!(PduHeader::decode(&pdu), Err(PduError::Version(4, 0)));
    pdu[0] = 5;
    pdu[8] = 10; // frag_length below the header
    assert_eq!(PduHeader::decode(&pdu), Err(PduError::Length));
}

#[test]
fn encodes_a_bind_ack() {
    let ack = BindAck {
        max_xmit_frag: 4280,
        max_recv_frag: 4280,
        assoc_group_id: 0x53f0,
        sec_addr: "\\PIPE\\srvsvc".into(),
        results: vec![
            ContextResult { result: RESULT_ACCEPTANCE, reason: 0, transfer_syntax: NDR_SYNTAX },
            ContextResult {
                result: RESULT_PROVIDER_REJECTION,
                reason: REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED,
                transfer_syntax: SyntaxId::ZERO,
            },
        ],
    };
    let mut want = vec![5, 0, 12, 3, 0x10, 0, 0, 0, 92, 0, 0, 0, 7, 0, 0, 0];
    want.extend_from_slice(&[0xb8, 0x10, 0xb8, 0x10, 0xf0, 0x53, 0, 0]);
    want.extend_from_slice(&[13, 0]);
    want.extend_from_slice(b"\\PIPE\\srvsvc\0");
    want.push(0); // 39 -> 40
    want.extend_from_slice(&[2, 0, 0, 0]);
    want.extend_from_slice(&[0, 0, 0, 0]);
    want.extend_from_slice(&NDR_WIRE);
    want.extend_from_slice(&[2, 0, 2, 0]);
    want.extend_from_slice(&[0; 20]);
    assert_eq!(to_vec(|b| ack.encode(ptype::BIND_ACK, 7, b)), want);
}

#[test]
fn encodes_nak_and_fault() {
    assert_eq!(to_vec(|b| encode_bind_nak(3, 0, b)), [5, 0, 13, 3, 0x10, 0, 0, 0, 22, 0, 0, 0, 3, 0, 0, 0, 0, 0, 1, 5, 0, 0]);
    let want = [
        5, 0, 3, 0x23, 0x10, 0, 0, 0, 32, 0, 0, 0, 2, 0, 0, 0, // header
        0, 0, 0, 0, 0, 0, 0, 0, // alloc_hint, context 0, cancel count
        0x02, 0x00, 0x01, 0x1c, 0, 0, 0, 0, // nca_s_op_rng_error
    ];
    assert_eq!(to_vec(|b| encode_fault(2, 0, NCA_S_OP_RNG_ERROR, true, b)), want);
}

#[test]
fn decodes_a_request_with_object_and_auth() {
    let mut pdu = vec![5, 0, 0, 0x83, 0x10, 0, 0, 0, 0, 0, 4, 0, 9, 0, 0, 0];
    pdu.extend_from_slice(&[8, 0, 0, 0, 0, 0, 15, 0]);
    pdu.extend_from_slice(&[0xAA; 16]); // object uuid
    pdu.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]); // stub
    pdu.extend_from_slice(&[0; 8]); // sec_trailer
    pdu.extend_from_slice(&[9; 4]); // credentials
    let n = pdu.len() as u16;
    pdu[8..10].copy_from_slice(&n.to_le_bytes());
    let h = PduHeader::decode(&pdu).unwrap();
    let r = Request::decode(&h, &pdu).unwrap();
    assert_eq!((r.alloc_hint, r.context_id, r.opnum), (8, 0, 15));
    assert_eq!(r.stub, [1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn a_long_response_is_fragmented() {
    let stub: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
    let frags = encode_response(4, 0, &stub, 4280);
    assert_eq!(frags.len(), 2);
    let mut joined = Vec::new();
    for (i, f) in frags.iter().enumerate() {
        let h = PduHeader::decode(f).unwrap();
        assert!(f.len() <= 4280 && usize::from(h.frag_length) == f.len());
        assert_eq!(h.ptype, ptype::RESPONSE);
        let want = match i {
            0 => PFC_FIRST_FRAG,
            _ => PFC_LAST_FRAG,
        };
        assert_eq!(h.flags, want);
        let hint = u32::from_le_bytes(f[16..20].try_into().unwrap());
        assert_eq!(hint as usize, 5000 - joined.len(), "alloc_hint is what remains");
        joined.extend_from_slice(&f[24..]);
    }
    assert_eq!(frags[0].len(), 24 + 4256);
    assert_eq!(joined, stub);
    // A short stub is one fragment, first and last.
    let one = encode_response(5, 0, &[0; 8], 4280);
    assert_eq!(
        one,
        [vec![5, 0, 2, 3, 0x10, 0, 0, 0, 32, 0, 0, 0, 5, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]
    );
}

quickcheck::quickcheck! {
    fn decoders_never_panic(data: Vec<u8>, prefix: bool) -> bool {
        let mut pdu = data;
        if prefix {
            // Make most inputs get past the header checks.
            let mut hdr = vec![5, 0, 0, 3, 0x10, 0, 0, 0];
            let len = (pdu.len() + 16).min(usize::from(u16::MAX)) as u16;
            hdr.extend_from_slice(&len.to_le_bytes());
            hdr.extend_from_slice(&[0, 0, 1, 0, 0, 0]);
            if let Some(t) = pdu.first() {
                hdr[2] = t % 20;
            }
            hdr.extend_from_slice(&pdu);
            pdu = hdr;
        }
        if let Ok(h) = PduHeader::decode(&pdu) {
            let _ = Bind::decode(&pdu);
            let _ = Request::decode(&h, &pdu);
        }
        true
    }
}
