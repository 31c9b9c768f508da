//! The 64-byte SMB2 packet header (MS-SMB2 2.2.1).

use super::codec::*;

pub const PROTOCOL_ID: [u8; 4] = [0xFE, b'S', b'M', b'B'];
pub const HEADER_LEN: usize = 64;

pub const FLAG_SERVER_TO_REDIR: u32 = 0x1;
pub const FLAG_ASYNC: u32 = 0x2;
pub const FLAG_RELATED: u32 = 0x4;
pub const FLAG_SIGNED: u32 = 0x8;
/// SMB2_FLAGS_REPLAY_OPERATION (3.x): the request may repeat one already
/// processed (MS-SMB2 2.2.1.2).
pub const FLAG_REPLAY_OPERATION: u32 = 0x2000_0000;

/// SMB2 command codes (MS-SMB2 2.2.1.2).
pub mod command {
    pub const NEGOTIATE: u16 = 0x00;
    pub const SESSION_SETUP: u16 = 0x01;
    pub const LOGOFF: u16 = 0x02;
    pub const TREE_CONNECT: u16 = 0x03;
    pub const TREE_DISCONNECT: u16 = 0x04;
    pub const CREATE: u16 = 0x05;
    pub const CLOSE: u16 = 0x06;
    pub const FLUSH: u16 = 0x07;
    pub const READ: u16 = 0x08;
    pub const WRITE: u16 = 0x09;
    pub const LOCK: u16 = 0x0A;
    pub const IOCTL: u16 = 0x0B;
    pub const CANCEL: u16 = 0x0C;
    pub const ECHO: u16 = 0x0D;
    pub const QUERY_DIRECTORY: u16 = 0x0E;
    pub const CHANGE_NOTIFY: u16 = 0x0F;
    pub const QUERY_INFO: u16 = 0x10;
    pub const SET_INFO: u16 = 0x11;
    pub const OPLOCK_BREAK: u16 = 0x12;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    pub credit_charge: u16,
    /// Status in responses; ChannelSequence/Reserved in requests.
    pub status: u32,
    pub command: u16,
    /// CreditRequest in requests, CreditResponse in responses.
    pub credits: u16,
    pub flags: u32,
    pub next_command: u32,
    pub message_id: u64,
    /// AsyncId when FLAG_ASYNC is set.
    pub async_id: u64,
    pub tree_id: u32,
    pub session_id: u64,
    pub signature: [u8; 16],
}

impl Header {
    pub fn decode(b: &[u8]) -> WireResult<Header> {
        if array_at::<4>(b, 0)? != PROTOCOL_ID {
            return Err(WireError::Invalid);
        }
        if u16_at(b, 4)? != 64 {
            return Err(WireError::StructureSize);
        }
        let flags = u32_at(b, 16)?;
        let (async_id, tree_id) = match flags & FLAG_ASYNC != 0 {
            true => (u64_at(b, 32)?, 0),
            false => (0, u32_at(b, 36)?),
        };
        Ok(Header {
            credit_charge: u16_at(b, 6)?,
            status: u32_at(b, 8)?,
            command: u16_at(b, 12)?,
            credits: u16_at(b, 14)?,
            flags,
            next_command: u32_at(b, 20)?,
            message_id: u64_at(b, 24)?,
            async_id,
            tree_id,
            session_id: u64_at(b, 40)?,
            signature: array_at::<16>(b, 48)?,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&PROTOCOL_ID);
        put_u16(out, 64);
        put_u16(out, self.credit_charge);
        put_u32(out, self.status);
        put_u16(out, self.command);
        put_u16(out, self.credits);
        put_u32(out, self.flags);
        put_u32(out, self.next_command);
        put_u64(out, self.message_id);
        if self.flags & FLAG_ASYNC != 0 {
            put_u64(out, self.async_id);
        } else {
            put_u32(out, 0);
            put_u32(out, self.tree_id);
        }
        put_u64(out, self.session_id);
        out.extend_from_slice(&self.signature);
    }

    pub fn is_async(&self) -> bool {
        self.flags & FLAG_ASYNC != 0
    }

    pub fn is_related(&self) -> bool {
        self.flags & FLAG_RELATED != 0
    }

    pub fn is_signed(&self) -> bool {
        self.flags & FLAG_SIGNED != 0
    }
}

/// MS-SMB2 3.3.5.2.7: the length of the compound element that starts a
/// `rest_len`-byte remainder whose header says `next_command`: all of it
/// for the last element (0), else NextCommand when it is at least a header,
/// 8-byte aligned and within the remainder; `None` otherwise.
pub fn compound_element_len(next_command: u32, rest_len: usize) -> Option<usize> {
    match usize::try_from(next_command).ok()? {
        0 => Some(rest_len),
        n if n >= HEADER_LEN && n % 8 == 0 && n <= rest_len => Some(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_sync_header() {
        // An ECHO request: MessageId 5, TreeId 7, SessionId 0x11, 1 credit asked.
        let mut bytes = vec![0xFE, 0x53, 0x4D, 0x42, 0x40, 0x00]; // ProtocolId, StructureSize 64
        bytes.extend_from_slice(&[0x01, 0x00]); // CreditCharge 1
        bytes.extend_from_slice(&[0; 4]); // ChannelSequence/Reserved
        bytes.extend_from_slice(&[0x0D, 0x00, 0x01, 0x00]); // Command ECHO, CreditRequest 1
        bytes.extend_from_slice(&[0; 4]); // Flags
        bytes.extend_from_slice(&[0; 4]); // NextCommand
        bytes.extend_from_slice(&[5, 0, 0, 0, 0, 0, 0, 0]); // MessageId
        bytes.extend_from_slice(&[0, 0, 0, 0, 7, 0, 0, 0]); // Reserved, TreeId
        bytes.extend_from_slice(&[0x11, 0, 0, 0, 0, 0, 0, 0]); // SessionId
        bytes.extend_from_slice(&[0; 16]); // Signature
        let h = Header::decode(&bytes).unwrap();
        assert_eq!(h.command, command::ECHO);
        assert_eq!((h.message_id, h.tree_id, h.session_id, h.credits, h.credit_charge), (5, 7, 0x11, 1, 1));
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out, bytes);
    }

    #[test]
    fn async_header_carries_async_id() {
        let h = Header { flags: FLAG_ASYNC | FLAG_SERVER_TO_REDIR, async_id: 0x0102030405060708, ..Default::default() };
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out.len(), 64);
        assert_eq!(&out[32..40], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(Header::decode(&out).unwrap().async_id, 0x0102030405060708);
    }

    #[test]
    fn rejects_bad_protocol_id_and_short_input() {
        assert_eq!(Header::decode(&[0xFF, b'S', b'M', b'B']), Err(WireError::Invalid));
        assert_eq!(Header::decode(&PROTOCOL_ID), Err(WireError::Short));
    }

    #[test]
    fn golden_async_response_header() {
        // A STATUS_PENDING interim response: async, server-to-redir, AsyncId 9.
        let mut bytes = vec![0xFE, 0x53, 0x4D, 0x42, 0x40, 0x00, 0x00, 0x00]; // ProtocolId, StructureSize, CreditCharge
        bytes.extend_from_slice(&[0x03, 0x01, 0x00, 0x00]); // Status 0x00000103 STATUS_PENDING
        bytes.extend_from_slice(&[0x08, 0x00, 0x01, 0x00]); // Command READ, CreditResponse 1
        bytes.extend_from_slice(&[0x03, 0, 0, 0]); // Flags SERVER_TO_REDIR | ASYNC_COMMAND
        bytes.extend_from_slice(&[0; 4]); // NextCommand
        bytes.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 0]); // MessageId 6
        bytes.extend_from_slice(&[9, 0, 0, 0, 0, 0, 0, 0]); // AsyncId 9 (offset 32)
        bytes.extend_from_slice(&[0x22, 0, 0, 0, 0, 0, 0, 0]); // SessionId (offset 40)
        bytes.extend_from_slice(&[0xEE; 16]); // Signature (offset 48)
        let h = Header {
            status: 0x103,
            command: command::READ,
            credits: 1,
            flags: FLAG_ASYNC | FLAG_SERVER_TO_REDIR,
            message_id: 6,
            async_id: 9,
            session_id: 0x22,
            signature: [0xEE; 16],
            ..Default::default()
        };
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out, bytes);
        assert_eq!(Header::decode(&bytes), Ok(h));
    }

    #[test]
    fn compound_element_lengths() {
        assert_eq!(compound_element_len(0, 100), Some(100));
        assert_eq!(compound_element_len(64, 100), Some(64));
        assert_eq!(compound_element_len(72, 72), Some(72));
        assert_eq!(compound_element_len(56, 100), None); // shorter than a header
        assert_eq!(compound_element_len(68, 100), None); // not 8-byte aligned
        assert_eq!(compound_element_len(104, 100), None); // past the end
    }

    impl quickcheck::Arbitrary for Header {
        fn arbitrary(g: &mut quickcheck::Gen) -> Self {
            let flags = u32::arbitrary(g);
            let async_ = flags & FLAG_ASYNC != 0;
            let mut signature = [0u8; 16];
            signature.iter_mut().for_each(|b| *b = u8::arbitrary(g));
            Header {
                credit_charge: u16::arbitrary(g),
                status: u32::arbitrary(g),
                command: u16::arbitrary(g),
                credits: u16::arbitrary(g),
                flags,
                next_command: u32::arbitrary(g),
                message_id: u64::arbitrary(g),
                async_id: if async_ { u64::arbitrary(g) } else { 0 },
                tree_id: if async_ { 0 } else { u32::arbitrary(g) },
                session_id: u64::arbitrary(g),
                signature,
            }
        }
    }

    quickcheck::quickcheck! {
        fn round_trip(h: Header) -> bool {
            let mut out = Vec::new();
            h.encode(&mut out);
            out.len() == HEADER_LEN && Header::decode(&out) == Ok(h)
        }

        fn decode_never_panics(b: Vec<u8>) -> bool {
            let _ = Header::decode(&b);
            let mut v = PROTOCOL_ID.to_vec();
            v.extend_from_slice(&b);
            let _ = Header::decode(&v);
            true
        }
    }
}
