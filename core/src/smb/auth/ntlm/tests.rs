//! Golden values from MS-NLMP 4.2.1 and 4.2.4 (NTLMv2 authentication).

use super::*;

pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

pub(crate) const SERVER_CHALLENGE: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];

/// MS-NLMP 4.2.4.3: the AUTHENTICATE_MESSAGE.
pub(crate) fn spec_authenticate() -> Vec<u8> {
    hex("4e544c4d535350000300000018001800
         6c00000054005400840000000c000c0048000000080008005400000010001000
         5c00000010001000d8000000358288e20501280a0000000f44006f006d006100
         69006e00550073006500720043004f004d005000550054004500520086c35097
         ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa68cd0ab851e51c96aabc927b
         ebef6a1c01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000
         02000c0044006f006d00610069006e0001000c00530065007200760065007200
         0000000000000000c5dad2544fc9799094ce1ce90bc9d03e")
}

#[test]
fn ntowfv2_golden() {
    assert_eq!(ntowfv2("Password", "User", "Domain").to_vec(), hex("0c868a403bfd7a93a3001ef22ef02e3f"));
    // The user name is uppercased; the domain is not.
    assert_eq!(ntowfv2("Password", "user", "Domain"), ntowfv2("Password", "USER", "Domain"));
    assert_ne!(ntowfv2("Password", "User", "domain"), ntowfv2("Password", "User", "Domain"));
}

#[test]
fn spec_authenticate_parses() {
    let msg = spec_authenticate();
    assert_eq!(msg.len(), 0xe8);
    let a = parse_authenticate(&msg).unwrap();
    assert_eq!(a.user, "User");
    assert_eq!(a.domain, "Domain");
    assert_eq!(a.workstation, "COMPUTER");
    assert_eq!(a.flags, 0xe2888235);
    assert_eq!(a.lm_response, &hex("86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa")[..]);
    assert_eq!(a.nt_response.len(), 0x54);
    assert_eq!(a.encrypted_session_key, &hex("c5dad2544fc9799094ce1ce90bc9d03e")[..]);
    assert_eq!(a.mic, None, "payload starts at 0x48: Version but no MIC");
}

#[test]
fn ntproofstr_session_base_key_and_key_exchange_golden() {
    let msg = spec_authenticate();
    let a = parse_authenticate(&msg).unwrap();
    let key = ntowfv2("Password", "User", "Domain");
    let (proof, temp) = a.nt_response.split_at(16);
    let computed = nt_proof(&key, &SERVER_CHALLENGE, temp);
    assert_eq!(computed.to_vec(), hex("68cd0ab851e51c96aabc927bebef6a1c"));
    assert_eq!(&computed[..], proof);
    let sbk = session_base_key(&key, &computed);
    assert_eq!(sbk.to_vec(), hex("8de40ccadbc14a82f15cb0ad0de95ca3"));
    let enc: [u8; 16] = a.encrypted_session_key.try_into().unwrap();
    assert_eq!(rc4_16(&sbk, &enc), [0x55; 16], "RandomSessionKey");
    assert_eq!(rc4_16(&sbk, &[0x55; 16]), enc, "RC4 is its own inverse");
}

#[test]
fn session_security_keys_and_checksum_golden() {
    // MS-NLMP 4.2.4.4: client-to-server keys from RandomSessionKey 0x55.., flags 0xe2888233.
    let exported = [0x55; 16];
    let flags = 0xe288_8233;
    assert_eq!(sign_key(&exported, Direction::ClientToServer).to_vec(), hex("4788dc861b4782f35d43fd98fe1a2d39"));
    let seal = seal_key(&exported, flags, Direction::ClientToServer);
    assert_eq!(seal, hex("59f600973cc4960a25480a7c196e4c58"));
    let plaintext = utf16le("Plaintext");
    let checksum = hmac_md5(&sign_key(&exported, Direction::ClientToServer), &[&[0, 0, 0, 0], &plaintext]);
    assert_eq!(checksum[..8].to_vec(), hex("70352851f2564309"));
    // The example seals the 18 data bytes first, then encrypts the checksum
    // with the same RC4 stream.
    let mut rc4 = Rc4::new_from_slice(&seal).unwrap();
    let mut data = plaintext.clone();
    rc4.apply_keystream(&mut data);
    assert_eq!(data, hex("54e50165bf1936dc996020c1811b0f06fb5f"));
    let mut cs = checksum[..8].to_vec();
    rc4.apply_keystream(&mut cs);
    assert_eq!(cs, hex("7fb38ec5c55d4976"));
    // mac() uses a fresh handle (one GetMIC on a new context), so only the
    // unencrypted layout can be compared without KEY_EXCH.
    let sig = mac(&exported, flags & !NEGOTIATE_KEY_EXCH, Direction::ClientToServer, 0, &plaintext);
    assert_eq!(sig.to_vec(), hex("0100000070352851f256430900000000"));
}

#[test]
fn challenge_layout() {
    let names = TargetNames {
        nb_domain: "WORKGROUP".into(),
        nb_computer: "SERVER".into(),
        dns_domain: "workgroup".into(),
        dns_computer: "server".into(),
    };
    let flags = NEGOTIATE_UNICODE | NEGOTIATE_NTLM | NEGOTIATE_TARGET_INFO | TARGET_TYPE_SERVER;
    let mut m = Vec::new();
    build_challenge(flags, &SERVER_CHALLENGE, 0x01d0_0000_0000_0000, &names, &mut m);
    assert_eq!(&m[..12], b"NTLMSSP\0\x02\0\0\0");
    assert_eq!(u32_at(&m, 20), Ok(flags));
    assert_eq!(&m[24..32], &SERVER_CHALLENGE);
    // TargetName "SERVER" in UTF-16 at offset 56.
    assert_eq!((u16_at(&m, 12), u32_at(&m, 16)), (Ok(12), Ok(56)));
    assert_eq!(&m[56..68], &utf16le("SERVER")[..]);
    let (len, off) = (u16_at(&m, 40).unwrap() as usize, u32_at(&m, 44).unwrap() as usize);
    assert_eq!(off, 68);
    assert_eq!(off + len, m.len());
    let info = &m[off..];
    assert_eq!(find_av(info, MSV_AV_NB_DOMAIN_NAME), Some(&utf16le("WORKGROUP")[..]));
    assert_eq!(find_av(info, MSV_AV_NB_COMPUTER_NAME), Some(&utf16le("SERVER")[..]));
    assert_eq!(find_av(info, MSV_AV_DNS_COMPUTER_NAME), Some(&utf16le("server")[..]));
    assert_eq!(find_av(info, MSV_AV_TIMESTAMP), Some(&0x01d0_0000_0000_0000u64.to_le_bytes()[..]));
    assert!(info.ends_with(&[0, 0, 0, 0]));
}

#[test]
fn authenticate_bounds() {
    let mut msg = spec_authenticate();
    // NtChallengeResponse length past the end.
    msg[20] = 0xff;
    assert!(parse_authenticate(&msg).is_err());
    assert!(parse_authenticate(b"NTLMSSP\0\x03\0\0\0").is_err());
    assert!(parse_authenticate(b"NTLMSSP\0\x01\0\0\0").is_err());
    assert!(message_type(&[0; 4]).is_err());
}

#[test]
fn av_pairs_are_bounded() {
    assert_eq!(find_av(&[7, 0, 0xff, 0xff], 7), None);
    assert_eq!(find_av(&[6, 0, 4, 0, 2, 0, 0, 0, 0, 0, 0, 0], 6), Some(&[2, 0, 0, 0][..]));
    assert_eq!(find_av(&[], 6), None);
}

#[test]
fn uppercase_is_one_to_one() {
    assert_eq!(upper("straße"), "STRAßE");
    assert_eq!(upper("élan"), "ÉLAN");
}

quickcheck::quickcheck! {
    fn parse_authenticate_never_panics(tail: Vec<u8>, flags: u32) -> bool {
        let mut m = b"NTLMSSP\0\x03\0\0\0".to_vec();
        m.extend_from_slice(&tail);
        if m.len() >= 64 {
            m[60..64].copy_from_slice(&flags.to_le_bytes());
        }
        let _ = parse_authenticate(&m);
        let _ = parse_negotiate(&m);
        true
    }

    fn find_av_never_panics(pairs: Vec<u8>, id: u16) -> bool {
        let _ = find_av(&pairs, id);
        true
    }

    fn spec_message_with_one_bad_byte(at: usize, byte: u8) -> bool {
        let mut m = spec_authenticate();
        let i = at % m.len();
        m[i] = byte;
        let _ = parse_authenticate(&m);
        true
    }
}
