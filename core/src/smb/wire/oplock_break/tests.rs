//! OPLOCK_BREAK body tests: golden bytes from MS-SMB2 2.2.23-2.2.25, dispatch
//! on StructureSize, round trips.

use quickcheck::quickcheck;

use super::*;

const KEY: [u8; 16] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10];

#[test]
#[rustfmt::skip]
fn lease_break_notification_golden() {
    // RWH -> RH on a v2 lease whose epoch goes to 3 (MS-SMB2 2.2.23.2).
    let n = LeaseBreakNotification {
        new_epoch: 3,
        flags: SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED,
        key: KEY,
        current_state: 7,
        new_state: 3,
    };
    let mut out = Vec::new();
    encode_lease_break_notification(&n, &mut out);
    let want: [u8; 44] = [
        0x2c, 0x00,             // StructureSize 44
        0x03, 0x00,             // NewEpoch 3
        0x01, 0x00, 0x00, 0x00, // Flags ACK_REQUIRED
        // LeaseKey
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
        0x07, 0x00, 0x00, 0x00, // CurrentLeaseState RWH
        0x03, 0x00, 0x00, 0x00, // NewLeaseState RH
        0x00, 0x00, 0x00, 0x00, // BreakReason
        0x00, 0x00, 0x00, 0x00, // AccessMaskHint
        0x00, 0x00, 0x00, 0x00, // ShareMaskHint
    ];
    assert_eq!(&out[..], &want[..]);
    assert_eq!(LeaseBreakNotification::decode(&want), Ok(n));
}

#[test]
#[rustfmt::skip]
fn lease_break_ack_decode_golden() {
    // Client acknowledges RH (MS-SMB2 2.2.24.2).
    let body: [u8; 36] = [
        0x24, 0x00,             // StructureSize 36
        0x00, 0x00,             // Reserved
        0x00, 0x00, 0x00, 0x00, // Flags
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
        0x03, 0x00, 0x00, 0x00, // LeaseState RH
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // LeaseDuration
    ];
    let ack = LeaseBreakAck { flags: 0, key: KEY, state: 3, duration: 0 };
    assert_eq!(decode_break_ack(&body), Ok(BreakAck::Lease(ack)));
    // The response has the same layout (MS-SMB2 2.2.25.2).
    let mut out = Vec::new();
    encode_lease_break_response(&ack, &mut out);
    assert_eq!(&out[..], &body[..]);
}

#[test]
#[rustfmt::skip]
fn oplock_break_golden() {
    // Break to level II (MS-SMB2 2.2.23.1); FileId persistent 8 then volatile 8.
    let o = OplockBreak { level: SMB2_OPLOCK_LEVEL_II, file_id: KEY };
    let mut out = Vec::new();
    encode_oplock_break(&o, &mut out);
    let want: [u8; 24] = [
        0x18, 0x00,             // StructureSize 24
        0x01,                   // OplockLevel II
        0x00,                   // Reserved
        0x00, 0x00, 0x00, 0x00, // Reserved2
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // FileId.Persistent
        0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, // FileId.Volatile
    ];
    assert_eq!(&out[..], &want[..]);
    assert_eq!(decode_break_ack(&want), Ok(BreakAck::Oplock(o)));
}

#[test]
fn ack_reserved_fields_are_ignored() {
    let mut body = [0u8; 36];
    body[0] = 36;
    body[2] = 0xFF; // Reserved
    body[24] = 1;
    let Ok(BreakAck::Lease(ack)) = decode_break_ack(&body) else { panic!() };
    assert_eq!(ack.state, 1);
    let mut body = [0u8; 24];
    body[0] = 24;
    body[2] = 8;
    body[3] = 0xFF; // Reserved
    body[4..8].fill(0xFF); // Reserved2
    assert_eq!(decode_break_ack(&body), Ok(BreakAck::Oplock(OplockBreak { level: 8, file_id: [0; 16] })));
}

#[test]
fn ack_with_trailing_bytes_is_accepted() {
    let mut body = vec![0u8; 40];
    body[0] = 24;
    assert!(matches!(decode_break_ack(&body), Ok(BreakAck::Oplock(_))));
}

#[test]
fn ack_errors_are_invalid_parameter() {
    let sized = |size: u8, len: usize| {
        let mut v = vec![0u8; len];
        v[0] = size;
        v
    };
    let cases: [(Vec<u8>, BreakCodecError); 6] = [
        (vec![], BreakCodecError::Truncated { need: 2, got: 0 }),
        (vec![36], BreakCodecError::Truncated { need: 2, got: 1 }),
        (sized(36, 4), BreakCodecError::Truncated { need: 36, got: 4 }),
        (sized(24, 23), BreakCodecError::Truncated { need: 24, got: 23 }),
        (sized(44, 44), BreakCodecError::BadStructureSize(44)),
        (sized(25, 36), BreakCodecError::BadStructureSize(25)),
    ];
    for (body, want) in cases {
        let e = decode_break_ack(&body).unwrap_err();
        assert_eq!(e, want, "{body:?}");
        assert_eq!(e.nt_status(), 0xC000_000D);
    }
}

#[test]
fn typed_decoders_check_their_structure_size() {
    let mut out = Vec::new();
    OplockBreak { level: 0, file_id: KEY }.encode(&mut out);
    out.extend_from_slice(&[0; 20]);
    assert_eq!(LeaseBreakAck::decode(&out), Err(BreakCodecError::BadStructureSize(24)));
    assert_eq!(LeaseBreakNotification::decode(&out), Err(BreakCodecError::BadStructureSize(24)));
}

quickcheck! {
    fn notification_round_trip(new_epoch: u16, flags: u32, key: [u8; 16], current_state: u32, new_state: u32) -> bool {
        let n = LeaseBreakNotification { new_epoch, flags, key, current_state, new_state };
        let mut out = Vec::new();
        n.encode(&mut out);
        out.len() == 44 && LeaseBreakNotification::decode(&out) == Ok(n)
    }

    fn lease_ack_round_trip(flags: u32, key: [u8; 16], state: u32, duration: u64) -> bool {
        let a = LeaseBreakAck { flags, key, state, duration };
        let mut out = Vec::new();
        a.encode(&mut out);
        out.len() == 36 && decode_break_ack(&out) == Ok(BreakAck::Lease(a))
    }

    fn oplock_round_trip(level: u8, file_id: [u8; 16]) -> bool {
        let o = OplockBreak { level, file_id };
        let mut out = Vec::new();
        o.encode(&mut out);
        out.len() == 24 && decode_break_ack(&out) == Ok(BreakAck::Oplock(o)) && OplockBreak::decode(&out) == Ok(o)
    }

    fn decode_break_ack_never_panics(body: Vec<u8>) -> bool {
        match decode_break_ack(&body) {
            Ok(BreakAck::Lease(_)) => body.len() >= 36 && body[..2] == [36, 0],
            Ok(BreakAck::Oplock(_)) => body.len() >= 24 && body[..2] == [24, 0],
            Err(e) => e.nt_status() == STATUS_INVALID_PARAMETER,
        }
    }
}
