//! The sparse-file FSCTL buffers: FILE_SET_SPARSE_BUFFER (MS-FSCC 2.3.83),
//! FILE_ZERO_DATA_INFORMATION (2.3.85) and FILE_ALLOCATED_RANGE_BUFFER
//! (2.3.52), with the range checks of MS-FSA 2.1.5.10.22 and 2.1.5.10.39.

use super::codec::*;

pub const FSCTL_SET_SPARSE: u32 = 0x0009_00C4;
pub const FSCTL_SET_ZERO_DATA: u32 = 0x0009_80C8;
pub const FSCTL_QUERY_ALLOCATED_RANGES: u32 = 0x0009_40CF;

/// Size of a FILE_ALLOCATED_RANGE_BUFFER: FileOffset and Length, 8 bytes each.
pub const RANGE_LEN: usize = 16;

/// FILE_SET_SPARSE_BUFFER: SetSparse, one byte, nonzero to set. A request
/// without a buffer sets (MS-FSCC 2.3.64); bytes past the first are
/// ignored, as Windows does.
pub fn decode_set_sparse(input: &[u8]) -> bool {
    input.first().is_none_or(|b| *b != 0)
}

/// Reads two signed 64-bit values, the layout of both FILE_ZERO_DATA_INFORMATION
/// and FILE_ALLOCATED_RANGE_BUFFER; a shorter buffer is invalid, a longer
/// one is read from its start.
fn pair(input: &[u8]) -> WireResult<(i64, i64)> {
    Ok((u64_at(input, 0)? as i64, u64_at(input, 8)? as i64))
}

/// FILE_ZERO_DATA_INFORMATION as the range `[offset, beyond)` to zero, or
/// `None` when MS-FSA 2.1.5.10.39 calls it invalid (short, negative,
/// FileOffset past BeyondFinalZero).
pub fn decode_zero_data(input: &[u8]) -> Option<(u64, u64)> {
    let (offset, beyond) = pair(input).ok()?;
    (offset >= 0 && beyond >= 0 && offset <= beyond).then_some((offset as u64, beyond as u64))
}

/// FILE_ALLOCATED_RANGE_BUFFER of a query as (offset, length), or `None`
/// when MS-FSA 2.1.5.10.22 calls it invalid (short, negative, or ending
/// past the largest signed 64-bit offset).
pub fn decode_range_query(input: &[u8]) -> Option<(u64, u64)> {
    let (offset, len) = pair(input).ok()?;
    (offset >= 0 && len >= 0 && len <= i64::MAX - offset).then_some((offset as u64, len as u64))
}

/// The FILE_ALLOCATED_RANGE_BUFFER array of a reply.
pub fn encode_ranges(ranges: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ranges.len() * RANGE_LEN);
    for &(offset, len) in ranges {
        put_u64(&mut out, offset);
        put_u64(&mut out, len);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(a: i64, b: i64) -> Vec<u8> {
        let mut v = a.to_le_bytes().to_vec();
        v.extend_from_slice(&b.to_le_bytes());
        v
    }

    #[test]
    fn set_sparse_without_a_buffer_sets_and_reads_only_the_first_byte() {
        assert!(decode_set_sparse(&[]));
        assert!(decode_set_sparse(&[0xff]));
        assert!(!decode_set_sparse(&[0]));
        let mut oversize = vec![0u8; 100];
        assert!(!decode_set_sparse(&oversize));
        oversize[0] = 1;
        assert!(decode_set_sparse(&oversize));
    }

    #[test]
    fn zero_data_ranges_follow_ms_fsa() {
        assert_eq!(decode_zero_data(&buf(0, 4096)), Some((0, 4096)));
        assert_eq!(decode_zero_data(&buf(4095, 4095)), Some((4095, 4095)), "empty is valid");
        assert_eq!(decode_zero_data(&buf(4096, 4095)), None, "offset past BeyondFinalZero");
        assert_eq!(decode_zero_data(&buf(-1, 10)), None);
        assert_eq!(decode_zero_data(&buf(0, -1)), None);
        assert_eq!(decode_zero_data(&buf(0, 4096)[..15]), None, "short");
        let mut long = buf(8, 16);
        long.extend_from_slice(&[0xff; 16]);
        assert_eq!(decode_zero_data(&long), Some((8, 16)), "a longer buffer is read from its start");
    }

    #[test]
    fn range_queries_follow_ms_fsa() {
        assert_eq!(decode_range_query(&buf(0, 0)), Some((0, 0)));
        assert_eq!(decode_range_query(&buf(1, i64::MAX - 1)), Some((1, i64::MAX as u64 - 1)));
        // smbtorture sparse_qar_overflow: 512 + all-ones wraps around.
        assert_eq!(decode_range_query(&buf(512, -1)), None);
        assert_eq!(decode_range_query(&buf(1, i64::MAX)), None, "ends past MAXLONGLONG");
        assert_eq!(decode_range_query(&buf(-1, 1)), None);
        assert_eq!(decode_range_query(&[]), None, "no buffer");
    }

    #[test]
    fn ranges_encode_as_offset_length_pairs() {
        let b = encode_ranges(&[(4096, 1024), (1 << 40, 7)]);
        assert_eq!(b.len(), 2 * RANGE_LEN);
        assert_eq!(u64_at(&b, 0).unwrap(), 4096);
        assert_eq!(u64_at(&b, 8).unwrap(), 1024);
        assert_eq!(u64_at(&b, 16).unwrap(), 1 << 40);
        assert_eq!(u64_at(&b, 24).unwrap(), 7);
        assert!(encode_ranges(&[]).is_empty());
    }

    quickcheck::quickcheck! {
        /// Every range comes back from the encoding, in order.
        fn ranges_round_trip(ranges: Vec<(u64, u64)>) -> bool {
            let b = encode_ranges(&ranges);
            b.len() == ranges.len() * RANGE_LEN
                && ranges.iter().enumerate().all(|(i, &(o, l))| {
                    u64_at(&b, i * RANGE_LEN).ok() == Some(o) && u64_at(&b, i * RANGE_LEN + 8).ok() == Some(l)
                })
        }
    }
}
