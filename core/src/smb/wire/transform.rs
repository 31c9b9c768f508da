//! SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41): the 52 bytes in front of an
//! encrypted message.

use super::codec::*;

/// ProtocolId of a TRANSFORM_HEADER: 0xFD 'S' 'M' 'B'.
pub const TRANSFORM_PROTOCOL_ID: [u8; 4] = [0xFD, b'S', b'M', b'B'];
/// Length of the TRANSFORM_HEADER.
pub const TRANSFORM_HEADER_LEN: usize = 52;
/// Flags/EncryptionAlgorithm: the message is encrypted (3.1.1 "Encrypted";
/// SMB2_ENCRYPTION_AES128_CCM in 3.0 and 3.0.2, the same value).
pub const TRANSFORM_FLAG_ENCRYPTED: u16 = 0x0001;
/// Where the authenticated data starts: Nonce through SessionId are the
/// AEAD's associated data (MS-SMB2 3.1.4.3).
pub const AAD_OFFSET: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransformHeader {
    /// The AEAD tag over the message and the associated data.
    pub signature: [u8; 16],
    /// 11 bytes used for CCM, 12 for GCM; the rest zero.
    pub nonce: [u8; 16],
    /// Size of the SMB2 message inside.
    pub original_message_size: u32,
    pub flags: u16,
    pub session_id: u64,
}

impl TransformHeader {
    pub fn decode(b: &[u8]) -> WireResult<Self> {
        if array_at::<4>(b, 0)? != TRANSFORM_PROTOCOL_ID {
            return Err(WireError::Invalid);
        }
        Ok(Self {
            signature: array_at::<16>(b, 4)?,
            nonce: array_at::<16>(b, 20)?,
            original_message_size: u32_at(b, 36)?,
            // Reserved at 40 is ignored on receipt.
            flags: u16_at(b, 42)?,
            session_id: u64_at(b, 44)?,
        })
    }

    pub fn encode(&self) -> [u8; TRANSFORM_HEADER_LEN] {
        let mut out = Vec::with_capacity(TRANSFORM_HEADER_LEN);
        out.extend_from_slice(&TRANSFORM_PROTOCOL_ID);
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.nonce);
        put_u32(&mut out, self.original_message_size);
        put_u16(&mut out, 0);
        put_u16(&mut out, self.flags);
        put_u64(&mut out, self.session_id);
        let mut a = [0u8; TRANSFORM_HEADER_LEN];
        a.copy_from_slice(&out);
        a
    }

    /// The associated data the AEAD authenticates: the encoded header from
    /// the Nonce on (32 bytes).
    pub fn aad(&self) -> [u8; TRANSFORM_HEADER_LEN - AAD_OFFSET] {
        let enc = self.encode();
        let mut a = [0u8; TRANSFORM_HEADER_LEN - AAD_OFFSET];
        a.copy_from_slice(&enc[AAD_OFFSET..]);
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn golden_layout() {
        let h = TransformHeader {
            signature: [0x11; 16],
            nonce: [0x22; 16],
            original_message_size: 0x0102_0304,
            flags: TRANSFORM_FLAG_ENCRYPTED,
            session_id: 0x0807_0605_0403_0201,
        };
        let b = h.encode();
        assert_eq!(&b[..4], &[0xFD, b'S', b'M', b'B']);
        assert_eq!(&b[4..20], &[0x11; 16]);
        assert_eq!(&b[20..36], &[0x22; 16]);
        assert_eq!(&b[36..40], &[4, 3, 2, 1]);
        assert_eq!(&b[40..44], &[0, 0, 1, 0]);
        assert_eq!(&b[44..52], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(h.aad()[..], b[20..]);
    }

    #[test]
    fn rejects_other_protocols_and_short_input() {
        let mut b = TransformHeader::default().encode();
        assert!(TransformHeader::decode(&b[..51]).is_err());
        b[0] = 0xFE;
        assert!(TransformHeader::decode(&b).is_err());
    }

    quickcheck! {
        fn roundtrip(sig: u128, nonce: u128, size: u32, flags: u16, sid: u64) -> bool {
            let h = TransformHeader {
                signature: sig.to_le_bytes(),
                nonce: nonce.to_le_bytes(),
                original_message_size: size,
                flags,
                session_id: sid,
            };
            TransformHeader::decode(&h.encode()) == Ok(h)
        }

        fn reserved_is_ignored(reserved: u16, sid: u64) -> bool {
            let h = TransformHeader { session_id: sid, flags: 1, ..Default::default() };
            let mut b = h.encode();
            b[40..42].copy_from_slice(&reserved.to_le_bytes());
            TransformHeader::decode(&b) == Ok(h)
        }

        fn decode_never_panics(b: Vec<u8>) -> bool {
            let mut v = TRANSFORM_PROTOCOL_ID.to_vec();
            v.extend_from_slice(&b);
            let _ = TransformHeader::decode(&v);
            true
        }
    }
}
