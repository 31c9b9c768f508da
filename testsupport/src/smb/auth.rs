//! Guest logon tokens: NTLMSSP (MS-NLMP 2.2.1) wrapped in SPNEGO (RFC 4178,
//! MS-SPNG). No keys: a guest session cannot sign.

/// 1.3.6.1.5.5.2
const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// 1.3.6.1.4.1.311.2.2.10
const OID_NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];

/// MS-NLMP 2.2.2.5 NegotiateFlags.
pub const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
pub const REQUEST_TARGET: u32 = 0x0000_0004;
pub const NEGOTIATE_NTLM: u32 = 0x0000_0200;
pub const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
pub const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
pub const NEGOTIATE_128: u32 = 0x2000_0000;
pub const NEGOTIATE_56: u32 = 0x8000_0000;

const FLAGS: u32 = NEGOTIATE_UNICODE
    | REQUEST_TARGET
    | NEGOTIATE_NTLM
    | NEGOTIATE_ALWAYS_SIGN
    | NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NEGOTIATE_128
    | NEGOTIATE_56;

/// DER tag-length-value with a definite length.
fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = value.len();
    if n < 0x80 {
        out.push(n as u8);
    } else if n <= 0xff {
        out.extend([0x81, n as u8]);
    } else {
        out.extend([0x82, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(value);
    out
}

/// NTLM NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1) without domain, workstation or version.
pub fn ntlm_negotiate() -> Vec<u8> {
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend(1u32.to_le_bytes());
    m.extend(FLAGS.to_le_bytes());
    m.extend([0; 16]); // DomainNameFields, WorkstationFields
    m
}

/// NTLM AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) for `user` with empty
/// responses: the server takes an unknown user, or an empty one
/// (anonymous, LM = Z(1), MS-NLMP 3.3.2), as a guest.
pub fn ntlm_authenticate_guest(user: &str) -> Vec<u8> {
    let user: Vec<u8> = user.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let lm: &[u8] = if user.is_empty() { &[0] } else { &[] };
    const PAYLOAD: u32 = 64;
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend(3u32.to_le_bytes());
    let mut offset = PAYLOAD;
    let mut field = |m: &mut Vec<u8>, len: usize| {
        m.extend((len as u16).to_le_bytes());
        m.extend((len as u16).to_le_bytes());
        m.extend(offset.to_le_bytes());
        offset += len as u32;
    };
    field(&mut m, lm.len()); // LmChallengeResponse
    field(&mut m, 0); // NtChallengeResponse
    field(&mut m, 0); // DomainName
    field(&mut m, user.len()); // UserName
    field(&mut m, 0); // Workstation
    field(&mut m, 0); // EncryptedRandomSessionKey
    m.extend(FLAGS.to_le_bytes());
    m.extend_from_slice(lm);
    m.extend_from_slice(&user);
    m
}

/// GSS-API InitialContextToken carrying a NegTokenInit that offers NTLMSSP
/// with `mech_token` (RFC 4178 4.2.1).
pub fn spnego_init(mech_token: &[u8]) -> Vec<u8> {
    let mech_types = tlv(0xa0, &tlv(0x30, &tlv(0x06, OID_NTLMSSP)));
    let token = tlv(0xa2, &tlv(0x04, mech_token));
    let neg_token_init = tlv(0x30, &[mech_types, token].concat());
    tlv(0x60, &[tlv(0x06, OID_SPNEGO), tlv(0xa0, &neg_token_init)].concat())
}

/// NegTokenResp carrying `response_token` (RFC 4178 4.2.2).
pub fn spnego_resp(response_token: &[u8]) -> Vec<u8> {
    tlv(0xa1, &tlv(0x30, &tlv(0xa2, &tlv(0x04, response_token))))
}

/// Whether a server token carries an NTLM CHALLENGE_MESSAGE (type 2).
pub fn has_ntlm_challenge(token: &[u8]) -> bool {
    token.windows(12).any(|w| w == b"NTLMSSP\0\x02\0\0\0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiate_message_layout() {
        let m = ntlm_negotiate();
        assert_eq!(m.len(), 32);
        assert_eq!(&m[..12], b"NTLMSSP\0\x01\0\0\0");
        assert_eq!(m[12..16], [0x05, 0x82, 0x08, 0xa0]);
    }

    #[test]
    fn authenticate_message_layout() {
        let m = ntlm_authenticate_guest("ab");
        assert_eq!(m.len(), 64 + 4);
        assert_eq!(&m[8..12], [3, 0, 0, 0]);
        // UserNameFields: len 4, maxlen 4, offset 64; LM and NT empty at 64.
        assert_eq!(m[12..20], [0, 0, 0, 0, 64, 0, 0, 0]);
        assert_eq!(m[36..44], [4, 0, 4, 0, 64, 0, 0, 0]);
        assert_eq!(m[64..], *b"a\0b\0");
        let anon = ntlm_authenticate_guest("");
        assert_eq!(anon[12..20], [1, 0, 1, 0, 64, 0, 0, 0]);
        assert_eq!(anon[64..], [0]);
    }

    #[test]
    fn spnego_wrapping() {
        let t = spnego_init(b"XY");
        #[rustfmt::skip]
        let expect = [
            0x60, 0x22, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02,
            0xa0, 0x18, 0x30, 0x16,
            0xa0, 0x0e, 0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a,
            0xa2, 0x04, 0x04, 0x02, b'X', b'Y',
        ];
        assert_eq!(t, expect);
        assert_eq!(spnego_resp(b"Z"), [0xa1, 0x07, 0x30, 0x05, 0xa2, 0x03, 0x04, 0x01, b'Z']);
        let long = spnego_resp(&[0; 300]);
        assert_eq!(long[..4], [0xa1, 0x82, 0x01, 0x38]);
    }

    #[test]
    fn challenge_detection() {
        assert!(has_ntlm_challenge(b"\xa1\x10..NTLMSSP\0\x02\0\0\0...."));
        assert!(!has_ntlm_challenge(b"NTLMSSP\0\x01\0\0\0"));
    }
}
