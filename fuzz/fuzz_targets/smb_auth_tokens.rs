//! The SESSION_SETUP security buffer decoders: the DER reader
//! (`smb::auth::der`), SPNEGO NegTokenInit / NegTokenResp (`spnego::parse`,
//! RFC 4178, MS-SPNG 2.2), the NTLMSSP NEGOTIATE and AUTHENTICATE parsers
//! and AV-pair lookup (`ntlm`, MS-NLMP 2.2.1), and `NtlmAcceptor::step`
//! driven through a whole exchange.
//!
//! Input: byte 0 `sel`, then `rest`; `sel % 4` picks:
//! - 0 DER: every TLV of `rest` (`der::read`, `der::items`);
//! - 1 SPNEGO: `spnego::parse(rest)`;
//! - 2 NTLMSSP: `message_type`, `parse_negotiate`, `parse_authenticate`,
//!   `find_av` of `rest` (and of an AUTHENTICATE's NTLMv2 AvPairs), then a
//!   CHALLENGE built from the first bytes;
//! - 3 an acceptor (one configured user, guest allowed) stepped with the
//!   tokens of `rest`, each a u16 LE length then that many bytes.
//!
//! Checks beyond "no panic": a TLV re-encoded with `der::tlv` reads back the
//! same; NegTokenResp re-encoded with `neg_token_resp` and NegTokenInit
//! rebuilt from its parts parse back the same; AUTHENTICATE fields lie within
//! the message; a built CHALLENGE carries the names and timestamp in its
//! TargetInfo; every token the acceptor answers with parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polyshare_core::config::{SmbConfig, User};
use polyshare_core::smb::auth::der::{self, ctx};
use polyshare_core::smb::auth::ntlm::{self, TargetNames};
use polyshare_core::smb::wire::utf16::utf16le;
use polyshare_core::smb::auth::spnego::{self, ClientToken};
use polyshare_core::smb::auth::{AuthStep, AuthUsers, NtlmAcceptor};

fn der_tlvs(rest: &[u8]) {
    let mut input = rest;
    while let Ok((tlv, after)) = der::read(input) {
        assert_eq!(tlv.raw.len() + after.len(), input.len());
        let enc = der::tlv(tlv.tag, tlv.value);
        let (again, tail) = der::read(&enc).expect("der::tlv output reads back");
        assert!(tail.is_empty());
        assert_eq!((again.tag, again.value, again.raw), (tlv.tag, tlv.value, &enc[..]));
        // Constructed values: walk one level down too.
        if tlv.tag & 0x20 != 0 {
            for item in der::items(tlv.value) {
                if item.is_err() {
                    break;
                }
            }
        }
        input = after;
    }
}

fn spnego_token(token: &[u8]) {
    let Ok(t) = spnego::parse(token) else { return };
    match t {
        ClientToken::Raw(r) => assert_eq!(r, token),
        ClientToken::Resp { response_token, mech_list_mic } => {
            let enc = spnego::neg_token_resp(spnego::ACCEPT_INCOMPLETE, false, response_token, mech_list_mic);
            assert_eq!(
                spnego::parse(&enc),
                Ok(ClientToken::Resp { response_token, mech_list_mic }),
                "NegTokenResp does not round trip"
            );
        }
        ClientToken::Init { mech_types, offers_ntlm, ntlm_first, mech_token } => {
            let mut fields = der::tlv(ctx(0), mech_types);
            if let Some(m) = mech_token {
                fields.extend(der::tlv(ctx(2), &der::tlv(der::OCTET_STRING, m)));
            }
            let init = der::tlv(ctx(0), &der::tlv(der::SEQUENCE, &fields));
            let gss = der::constructed(der::APPLICATION_0, &[&der::tlv(der::OID, spnego::OID_SPNEGO), &init]);
            for enc in [&init, &gss] {
                let again = spnego::parse(enc);
                assert_eq!(
                    again,
                    Ok(ClientToken::Init { mech_types, offers_ntlm, ntlm_first, mech_token }),
                    "NegTokenInit does not round trip"
                );
            }
        }
    }
}

fn ntlm_message(msg: &[u8]) {
    let _ = ntlm::message_type(msg);
    let _ = ntlm::parse_negotiate(msg);
    let _ = ntlm::find_av(msg, ntlm::MSV_AV_FLAGS);
    if let Ok(a) = ntlm::parse_authenticate(msg) {
        for f in [a.lm_response, a.nt_response, a.encrypted_session_key] {
            assert!(f.len() <= msg.len());
        }
        if let Some(mic) = a.mic {
            assert_eq!(mic.len(), 16);
        }
        // NTLMv2_RESPONSE: NTProofStr (16), then the client challenge whose
        // AvPairs start 28 bytes in (MS-NLMP 2.2.2.7).
        if let Some(pairs) = a.nt_response.get(16 + 28..) {
            let _ = ntlm::find_av(pairs, ntlm::MSV_AV_FLAGS);
            let _ = ntlm::find_av(pairs, ntlm::MSV_AV_TIMESTAMP);
        }
    }
}

/// A CHALLENGE from fuzzed parameters: its TargetInfo (MS-NLMP 2.2.1.2,
/// fields at offset 40) holds the names and the timestamp.
fn challenge(b: &[u8]) {
    let Some((head, names)) = b.split_first_chunk::<20>() else { return };
    let flags = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let mut chal = [0u8; 8];
    chal.copy_from_slice(&head[4..12]);
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&head[12..20]);
    let timestamp = u64::from_le_bytes(ts);
    let text = String::from_utf8_lossy(names);
    let mut parts = text.splitn(4, '\0').map(str::to_string);
    let mut next = || parts.next().unwrap_or_default();
    let names = TargetNames { nb_domain: next(), nb_computer: next(), dns_domain: next(), dns_computer: next() };
    if [&names.nb_domain, &names.nb_computer, &names.dns_domain, &names.dns_computer]
        .iter()
        .any(|n| utf16le(n).len() > 4096)
    {
        return;
    }
    let mut m = Vec::new();
    ntlm::build_challenge(flags, &chal, timestamp, &names, &mut m);
    assert_eq!(ntlm::message_type(&m), Ok(ntlm::CHALLENGE_MESSAGE));
    let len = usize::from(u16::from_le_bytes([m[40], m[41]]));
    let off = u32::from_le_bytes([m[44], m[45], m[46], m[47]]) as usize;
    let info = m.get(off..off + len).expect("TargetInfo within the CHALLENGE");
    let av = |id| ntlm::find_av(info, id).map(<[u8]>::to_vec);
    assert_eq!(av(ntlm::MSV_AV_TIMESTAMP), Some(timestamp.to_le_bytes().to_vec()));
    assert_eq!(av(ntlm::MSV_AV_NB_DOMAIN_NAME), Some(utf16le(&names.nb_domain)));
    assert_eq!(av(ntlm::MSV_AV_NB_COMPUTER_NAME), Some(utf16le(&names.nb_computer)));
    assert_eq!(av(ntlm::MSV_AV_DNS_DOMAIN_NAME), Some(utf16le(&names.dns_domain)));
    assert_eq!(av(ntlm::MSV_AV_DNS_COMPUTER_NAME), Some(utf16le(&names.dns_computer)));
}

fn exchange(mut rest: &[u8]) {
    let cfg = SmbConfig {
        users: vec![User::new("alice", "secret")],
        guest: true,
        ..SmbConfig::default()
    };
    let users = AuthUsers::from_config(&cfg);
    let mut acc = NtlmAcceptor::new(*b"\x01\x23\x45\x67\x89\xab\xcd\xef", 0x01D9_0000_0000_0000);
    while let Some((len, r)) = rest.split_first_chunk::<2>() {
        let n = usize::from(u16::from_le_bytes(*len)).min(r.len());
        let (token, r) = r.split_at(n);
        rest = r;
        match acc.step(&users, token) {
            Ok(AuthStep::Continue { token }) => {
                assert!(!token.is_empty());
                match spnego::parse(&token) {
                    Ok(ClientToken::Raw(m)) => assert_eq!(ntlm::message_type(m), Ok(ntlm::CHALLENGE_MESSAGE)),
                    Ok(ClientToken::Resp { .. }) => {}
                    other => panic!("acceptor answered with {other:?}"),
                }
            }
            Ok(AuthStep::Done { token, .. }) => {
                if !token.is_empty() {
                    assert!(matches!(spnego::parse(&token), Ok(ClientToken::Resp { .. })));
                }
            }
            Err(_) => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    match sel % 4 {
        0 => der_tlvs(rest),
        1 => spnego_token(rest),
        2 => {
            ntlm_message(rest);
            challenge(rest);
        }
        _ => exchange(rest),
    }
});
