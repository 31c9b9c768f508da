//! The ERROR response body (MS-SMB2 2.2.2).

use super::codec::*;

/// StructureSize 9, ErrorContextCount 0, Reserved, ByteCount 0, and the one
/// byte of ErrorData the StructureSize counts.
pub fn encode_error_response(out: &mut Vec<u8>) {
    out.extend_from_slice(&[9, 0, 0, 0, 0, 0, 0, 0, 0]);
}

/// The ErrorData of an ERROR response (`msg` from the header on).
pub fn decode_error_response(msg: &[u8]) -> WireResult<&[u8]> {
    let body = msg.get(64..).ok_or(WireError::Short)?;
    structure_size(body, 9)?;
    let count = u32_at(body, 4)? as usize;
    slice_at(body, 8, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb::wire::testutil::msg;

    #[test]
    fn golden() {
        // StructureSize 9, ErrorContextCount 0, Reserved, ByteCount 0, ErrorData 1 byte.
        let bytes = [0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
        assert_eq!(to_vec(encode_error_response), bytes);
        assert_eq!(decode_error_response(&msg(&bytes)), Ok(&[][..]));
        // ByteCount 2 with two bytes of ErrorData.
        let with_data = [0x09, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xAA, 0xBB];
        assert_eq!(decode_error_response(&msg(&with_data)), Ok(&[0xAA, 0xBB][..]));
        assert_eq!(decode_error_response(&msg(&with_data[..9])), Err(WireError::Short));
        assert_eq!(decode_error_response(&msg(&[4, 0, 0, 0])), Err(WireError::StructureSize));
    }

    #[test]
    fn round_trip() {
        assert_eq!(decode_error_response(&msg(&to_vec(encode_error_response))), Ok(&[][..]));
    }

    quickcheck::quickcheck! {
        fn decode_never_panics(b: Vec<u8>) -> bool {
            let mut m = msg(&[9, 0]);
            m.extend_from_slice(&b);
            let _ = decode_error_response(&m);
            let _ = decode_error_response(&b);
            true
        }
    }
}
