//! The ERROR response body (MS-SMB2 2.2.2).

/// StructureSize 9, ErrorContextCount 0, Reserved, ByteCount 0, and the one
/// byte of ErrorData the StructureSize counts.
pub fn encode_error_response() -> Vec<u8> {
    vec![9, 0, 0, 0, 0, 0, 0, 0, 0]
}

#[cfg(test)]
mod tests {
    #[test]
    fn golden() {
        assert_eq!(super::encode_error_response(), [0x09, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
}
