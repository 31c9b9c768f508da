//! The SMB1 multi-protocol NEGOTIATE a client may open with (MS-SMB2 3.3.5.3,
//! MS-CIFS 2.2.4.52.1): only the dialect strings matter.

use super::codec::*;

pub const SMB1_PROTOCOL_ID: [u8; 4] = [0xFF, b'S', b'M', b'B'];
const SMB_COM_NEGOTIATE: u8 = 0x72;

/// Which SMB2 dialect strings an SMB1 NEGOTIATE offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Smb1Dialects {
    pub smb2_002: bool,
    pub smb2_wildcard: bool,
}

/// Decodes an SMB1 NEGOTIATE: 32-byte header, WordCount (0), ByteCount, then
/// 0x02-prefixed NUL-terminated dialect strings.
pub fn decode_negotiate(msg: &[u8]) -> WireResult<Smb1Dialects> {
    if array_at::<4>(msg, 0)? != SMB1_PROTOCOL_ID || u8_at(msg, 4)? != SMB_COM_NEGOTIATE {
        return Err(WireError::Invalid);
    }
    let word_count = u8_at(msg, 32)? as usize;
    let bc_off = 33 + 2 * word_count;
    let byte_count = u16_at(msg, bc_off)? as usize;
    let bytes = slice_at(msg, bc_off + 2, byte_count)?;
    let mut d = Smb1Dialects::default();
    for s in bytes.split(|&c| c == 0) {
        match s {
            [0x02, rest @ ..] if rest == b"SMB 2.002" => d.smb2_002 = true,
            [0x02, rest @ ..] if rest == b"SMB 2.???" => d.smb2_wildcard = true,
            _ => {}
        }
    }
    Ok(d)
}

/// Encodes an SMB1 NEGOTIATE offering "NT LM 0.12" and the SMB2 dialect
/// strings of `d` (what a multi-protocol client sends; for test clients).
pub fn encode_negotiate(d: &Smb1Dialects, out: &mut Vec<u8>) {
    let mut dialects: Vec<&[u8]> = vec![b"NT LM 0.12"];
    if d.smb2_002 {
        dialects.push(b"SMB 2.002");
    }
    if d.smb2_wildcard {
        dialects.push(b"SMB 2.???");
    }
    let start = out.len();
    out.extend_from_slice(&SMB1_PROTOCOL_ID);
    out.push(SMB_COM_NEGOTIATE);
    out.resize(start + 32, 0);
    out.push(0); // WordCount
    let count_at = out.len();
    put_u16(out, 0); // ByteCount, patched below
    for s in dialects {
        out.push(0x02);
        out.extend_from_slice(s);
        out.push(0);
    }
    let count = (out.len() - count_at - 2) as u16;
    patch_u16(out, count_at, count);
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn smb1_negotiate(dialects: &[&str]) -> Vec<u8> {
        let mut m = vec![0xFF, b'S', b'M', b'B', 0x72];
        m.resize(32, 0);
        m.push(0); // WordCount
        let mut bytes = Vec::new();
        for d in dialects {
            bytes.push(0x02);
            bytes.extend_from_slice(d.as_bytes());
            bytes.push(0);
        }
        m.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        m.extend_from_slice(&bytes);
        m
    }

    #[test]
    fn golden_encode() {
        let mut want = vec![0xFF, 0x53, 0x4D, 0x42, 0x72]; // Protocol, Command NEGOTIATE
        want.extend_from_slice(&[0; 27]); // rest of the 32-byte header
        want.push(0x00); // WordCount 0 (offset 32)
        want.extend_from_slice(&[0x17, 0x00]); // ByteCount 23 (offset 33)
        want.extend_from_slice(b"\x02NT LM 0.12\x00\x02SMB 2.002\x00");
        let d = Smb1Dialects { smb2_002: true, smb2_wildcard: false };
        assert_eq!(to_vec(|b| encode_negotiate(&d, b)), want);
        assert_eq!(decode_negotiate(&want), Ok(d));
    }

    #[test]
    fn finds_smb2_dialect_strings() {
        let d = decode_negotiate(&smb1_negotiate(&["NT LM 0.12", "SMB 2.002", "SMB 2.???"])).unwrap();
        assert_eq!(d, Smb1Dialects { smb2_002: true, smb2_wildcard: true });
        let d = decode_negotiate(&smb1_negotiate(&["NT LM 0.12"])).unwrap();
        assert_eq!(d, Smb1Dialects::default());
        assert!(decode_negotiate(&smb1_negotiate(&["SMB 2.002"])[..34]).is_err());
    }

    quickcheck::quickcheck! {
        fn round_trip(smb2_002: bool, smb2_wildcard: bool) -> bool {
            let d = Smb1Dialects { smb2_002, smb2_wildcard };
            decode_negotiate(&to_vec(|b| encode_negotiate(&d, b))) == Ok(d)
        }

        fn decode_never_panics(b: Vec<u8>) -> bool {
            let mut m = vec![0xFF, b'S', b'M', b'B', 0x72];
            m.extend_from_slice(&b);
            let _ = decode_negotiate(&m);
            true
        }
    }
}
