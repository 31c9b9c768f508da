//! OPLOCK_BREAK bodies (MS-SMB2 2.2.23 - 2.2.25): the acknowledgment and
//! notification decoders never panic, and what decodes re-encodes to a body
//! of its StructureSize that decodes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polyshare_core::smb::wire::oplock_break::{
    BreakAck, LEASE_BREAK_ACK_SIZE, LEASE_BREAK_NOTIFICATION_SIZE, LeaseBreakNotification, OPLOCK_BREAK_SIZE,
    decode_break_ack,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(ack) = decode_break_ack(data) {
        let mut out = Vec::new();
        let size = match &ack {
            BreakAck::Lease(l) => {
                l.encode(&mut out);
                LEASE_BREAK_ACK_SIZE
            }
            BreakAck::Oplock(o) => {
                o.encode(&mut out);
                OPLOCK_BREAK_SIZE
            }
        };
        assert_eq!(out.len(), usize::from(size));
        assert!(data.len() >= out.len());
        assert_eq!(decode_break_ack(&out), Ok(ack), "break ack does not round trip");
    }

    if let Ok(n) = LeaseBreakNotification::decode(data) {
        let mut out = Vec::new();
        n.encode(&mut out);
        assert_eq!(out.len(), usize::from(LEASE_BREAK_NOTIFICATION_SIZE));
        assert_eq!(LeaseBreakNotification::decode(&out), Ok(n), "notification does not round trip");
    }
});
