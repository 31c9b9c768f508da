//! SPNEGO tokens (RFC 4178, MS-SPNG 2.2): decoding the client's
//! NegTokenInit / NegTokenResp and encoding the server's tokens.

use super::der::{self, DerError, ctx};

/// 1.3.6.1.5.5.2
pub const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// 1.3.6.1.4.1.311.2.2.10 (NTLMSSP)
pub const OID_NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];
/// MS-SPNG 3.2.5.2: the hint name servers send.
const HINT_NAME: &[u8] = b"not_defined_in_RFC4178@please_ignore";

/// negState values (RFC 4178 4.2.2).
pub const ACCEPT_COMPLETED: u8 = 0;
pub const ACCEPT_INCOMPLETE: u8 = 1;
pub const REJECT: u8 = 2;

/// A client SESSION_SETUP security buffer, unwrapped.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientToken<'a> {
    /// NegTokenInit (normally inside the GSS-API InitialContextToken).
    Init {
        /// The DER encoding of mechTypes (the MechTypeList), as the mechListMIC covers it.
        mech_types: &'a [u8],
        /// NTLMSSP is among the mechTypes.
        offers_ntlm: bool,
        /// NTLMSSP is the first (preferred) mechType, so mechToken is NTLM.
        ntlm_first: bool,
        mech_token: Option<&'a [u8]>,
    },
    /// NegTokenResp.
    Resp { response_token: Option<&'a [u8]>, mech_list_mic: Option<&'a [u8]> },
    /// NTLMSSP without SPNEGO.
    Raw(&'a [u8]),
}

/// Unwraps a client token.
pub fn parse(token: &[u8]) -> Result<ClientToken<'_>, DerError> {
    if token.starts_with(b"NTLMSSP\0") {
        return Ok(ClientToken::Raw(token));
    }
    let (outer, _) = der::read(token)?;
    match outer.tag {
        der::APPLICATION_0 => {
            let (oid, rest) = der::expect(outer.value, der::OID)?;
            if oid.value != OID_SPNEGO {
                return Err(DerError("not SPNEGO"));
            }
            let (inner, _) = der::expect(rest, ctx(0))?;
            parse_init(inner.value)
        }
        t if t == ctx(0) => parse_init(outer.value),
        t if t == ctx(1) => parse_resp(outer.value),
        _ => Err(DerError("unknown token")),
    }
}

/// NegTokenInit ::= SEQUENCE { mechTypes [0], reqFlags [1], mechToken [2], mechListMIC [3] }
fn parse_init(value: &[u8]) -> Result<ClientToken<'_>, DerError> {
    let (seq, _) = der::expect(value, der::SEQUENCE)?;
    let mut mech_types = None;
    let mut mech_token = None;
    for item in der::items(seq.value) {
        let item = item?;
        match item.tag {
            t if t == ctx(0) => mech_types = Some(der::expect(item.value, der::SEQUENCE)?.0),
            t if t == ctx(2) => mech_token = Some(der::expect(item.value, der::OCTET_STRING)?.0.value),
            _ => {}
        }
    }
    let mech_types = mech_types.ok_or(DerError("no mechTypes"))?;
    let mut offers_ntlm = false;
    let mut ntlm_first = false;
    for (i, oid) in der::items(mech_types.value).enumerate() {
        let oid = oid?;
        if oid.tag == der::OID && oid.value == OID_NTLMSSP {
            offers_ntlm = true;
            ntlm_first |= i == 0;
        }
    }
    Ok(ClientToken::Init { mech_types: mech_types.raw, offers_ntlm, ntlm_first, mech_token })
}

/// NegTokenResp ::= SEQUENCE { negState [0], supportedMech [1], responseToken [2], mechListMIC [3] }
fn parse_resp(value: &[u8]) -> Result<ClientToken<'_>, DerError> {
    let (seq, _) = der::expect(value, der::SEQUENCE)?;
    let mut response_token = None;
    let mut mech_list_mic = None;
    for item in der::items(seq.value) {
        let item = item?;
        match item.tag {
            t if t == ctx(2) => response_token = Some(der::expect(item.value, der::OCTET_STRING)?.0.value),
            t if t == ctx(3) => mech_list_mic = Some(der::expect(item.value, der::OCTET_STRING)?.0.value),
            _ => {}
        }
    }
    Ok(ClientToken::Resp { response_token, mech_list_mic })
}

/// The NEGOTIATE response's security buffer: GSS-API InitialContextToken
/// carrying a NegTokenInit2 (MS-SPNG 2.2.1) that offers NTLMSSP only.
pub fn neg_token_init2() -> Vec<u8> {
    let mech_types = der::tlv(der::SEQUENCE, &der::tlv(der::OID, OID_NTLMSSP));
    let hints = der::tlv(der::SEQUENCE, &der::tlv(ctx(0), &der::tlv(der::GENERAL_STRING, HINT_NAME)));
    let body = der::constructed(der::SEQUENCE, &[&der::tlv(ctx(0), &mech_types), &der::tlv(ctx(3), &hints)]);
    der::constructed(der::APPLICATION_0, &[&der::tlv(der::OID, OID_SPNEGO), &der::tlv(ctx(0), &body)])
}

/// A NegTokenResp from the server.
pub fn neg_token_resp(
    neg_state: u8,
    supported_mech: bool,
    response_token: Option<&[u8]>,
    mech_list_mic: Option<&[u8]>,
) -> Vec<u8> {
    let mut fields = der::tlv(ctx(0), &der::tlv(der::ENUMERATED, &[neg_state]));
    if supported_mech {
        fields.extend(der::tlv(ctx(1), &der::tlv(der::OID, OID_NTLMSSP)));
    }
    if let Some(t) = response_token {
        fields.extend(der::tlv(ctx(2), &der::tlv(der::OCTET_STRING, t)));
    }
    if let Some(m) = mech_list_mic {
        fields.extend(der::tlv(ctx(3), &der::tlv(der::OCTET_STRING, m)));
    }
    der::tlv(ctx(1), &der::tlv(der::SEQUENCE, &fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn negotiate_token_golden() {
        // The layout Windows and Samba servers send (MS-SPNG 2.2.1, 3.2.5.2).
        let expect = hex(concat!(
            "604806062b0601050502a03e303ca00e300c060a2b06010401823702020a",
            "a32a3028a0261b246e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f7265"
        ));
        assert_eq!(neg_token_init2(), expect);
    }

    #[test]
    fn parses_client_init_and_resp() {
        // A NegTokenInit as smbclient sends it: mechTypes [NTLMSSP], mechToken.
        let token =
            hex(concat!("602806062b0601050502a01e301ca00e300c060a2b06010401823702020a", "a20a04084e544c4d53535000"));
        match parse(&token).unwrap() {
            ClientToken::Init { mech_types, offers_ntlm, ntlm_first, mech_token } => {
                assert_eq!(mech_types, &hex("300c060a2b06010401823702020a")[..]);
                assert!(offers_ntlm && ntlm_first);
                assert_eq!(mech_token, Some(&b"NTLMSSP\0"[..]));
            }
            other => panic!("{other:?}"),
        }
        let resp = neg_token_resp(ACCEPT_INCOMPLETE, false, Some(b"abc"), Some(b"mic"));
        assert_eq!(
            parse(&resp).unwrap(),
            ClientToken::Resp { response_token: Some(b"abc"), mech_list_mic: Some(b"mic") }
        );
        assert_eq!(parse(b"NTLMSSP\0\x01").unwrap(), ClientToken::Raw(b"NTLMSSP\0\x01"));
    }

    #[test]
    fn resp_golden() {
        // accept-completed without other fields: a1 07 30 05 a0 03 0a 01 00
        assert_eq!(neg_token_resp(ACCEPT_COMPLETED, false, None, None), hex("a1073005a0030a0100"));
        let r = neg_token_resp(ACCEPT_INCOMPLETE, true, Some(&[0xaa]), None);
        assert_eq!(r, hex("a11a3018a0030a0101a10c060a2b06010401823702020aa2030401aa"));
    }

    #[test]
    fn rejects_other_mechanisms() {
        // GSS token with the Kerberos OID instead of SPNEGO.
        let token = hex("600b06092a864886f712010202");
        assert!(parse(&token).is_err());
        assert!(parse(&[0x30, 0]).is_err());
    }

    quickcheck::quickcheck! {
        fn parse_never_panics(tag: bool, body: Vec<u8>) -> bool {
            let mut t = vec![if tag { 0x60 } else { 0xa1 }];
            t.extend(der::tlv(der::SEQUENCE, &body)[1..].iter());
            let _ = parse(&t);
            let _ = parse(&body);
            true
        }

        fn resp_round_trip(token: Vec<u8>, mic: Vec<u8>) -> bool {
            let r = neg_token_resp(ACCEPT_INCOMPLETE, true, Some(&token), Some(&mic));
            parse(&r) == Ok(ClientToken::Resp { response_token: Some(&token), mech_list_mic: Some(&mic) })
        }
    }
}
