//! NTLMSSP messages (MS-NLMP 2.2.1) and NTLMv2 cryptography (MS-NLMP 3.3.2,
//! 3.4.4.2, 3.4.5).

use hmac::{Hmac, KeyInit, Mac};
use md4::{Digest, Md4};
use md5::Md5;
use rc4::{Rc4, StreamCipher};

use crate::smb::wire::codec::{WireError, le_u16, le_u32, parse_at, skip, u16_at, u32_at};
use crate::smb::wire::utf16::{from_utf16le_lossy, utf16le};

pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
pub const NEGOTIATE_MESSAGE: u32 = 1;
pub const CHALLENGE_MESSAGE: u32 = 2;
pub const AUTHENTICATE_MESSAGE: u32 = 3;

// NegotiateFlags (MS-NLMP 2.2.2.5).
pub const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
pub const NEGOTIATE_OEM: u32 = 0x0000_0002;
pub const REQUEST_TARGET: u32 = 0x0000_0004;
pub const NEGOTIATE_SIGN: u32 = 0x0000_0010;
pub const NEGOTIATE_SEAL: u32 = 0x0000_0020;
pub const NEGOTIATE_NTLM: u32 = 0x0000_0200;
pub const NEGOTIATE_ANONYMOUS: u32 = 0x0000_0800;
pub const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
pub const TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
pub const TARGET_TYPE_SERVER: u32 = 0x0002_0000;
pub const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
pub const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
pub const NEGOTIATE_VERSION: u32 = 0x0200_0000;
pub const NEGOTIATE_128: u32 = 0x2000_0000;
pub const NEGOTIATE_KEY_EXCH: u32 = 0x4000_0000;
pub const NEGOTIATE_56: u32 = 0x8000_0000;

/// Flags echoed to the client when it asks for them.
pub const ECHOED: u32 = NEGOTIATE_UNICODE
    | REQUEST_TARGET
    | NEGOTIATE_SIGN
    | NEGOTIATE_SEAL
    | NEGOTIATE_ALWAYS_SIGN
    | NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NEGOTIATE_VERSION
    | NEGOTIATE_128
    | NEGOTIATE_KEY_EXCH
    | NEGOTIATE_56;

// AV_PAIR ids (MS-NLMP 2.2.2.1).
pub const MSV_AV_EOL: u16 = 0;
pub const MSV_AV_NB_COMPUTER_NAME: u16 = 1;
pub const MSV_AV_NB_DOMAIN_NAME: u16 = 2;
pub const MSV_AV_DNS_COMPUTER_NAME: u16 = 3;
pub const MSV_AV_DNS_DOMAIN_NAME: u16 = 4;
pub const MSV_AV_FLAGS: u16 = 6;
pub const MSV_AV_TIMESTAMP: u16 = 7;
/// MsvAvFlags bit: the AUTHENTICATE message carries a MIC.
pub const AV_FLAG_MIC_PRESENT: u32 = 0x2;

/// VERSION (MS-NLMP 2.2.2.10): 10.0 build 20348, NTLMSSP_REVISION_W2K3.
pub const VERSION: [u8; 8] = [10, 0, 0x7c, 0x4f, 0, 0, 0, 0x0f];

/// Largest NTLM message accepted, and largest field inside one.
pub const MAX_MESSAGE: usize = 16 * 1024;
/// Offset of the MIC in an AUTHENTICATE_MESSAGE that has a Version field.
pub const MIC_OFFSET: usize = 72;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtlmError(pub &'static str);

/// A field read past the end of the message (the SMB codec's one error).
impl From<WireError> for NtlmError {
    fn from(_: WireError) -> Self {
        NtlmError("truncated NTLM message")
    }
}

/// A security buffer (MS-NLMP 2.2.2.10): Len, MaxLen, BufferOffset.
fn security_buffer(msg: &[u8], at: usize) -> Result<(usize, usize), WireError> {
    let (len, _, off) = parse_at(msg, at, (le_u16, skip(2), le_u32))?;
    Ok((usize::from(len), off as usize))
}

/// The message type of an NTLMSSP message.
pub fn message_type(msg: &[u8]) -> Result<u32, NtlmError> {
    if msg.len() > MAX_MESSAGE {
        return Err(NtlmError("NTLM message too large"));
    }
    if !msg.starts_with(SIGNATURE) {
        return Err(NtlmError("not NTLMSSP"));
    }
    Ok(u32_at(msg, 8)?)
}

/// NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1): only the flags matter to a server.
pub fn parse_negotiate(msg: &[u8]) -> Result<u32, NtlmError> {
    if message_type(msg)? != NEGOTIATE_MESSAGE {
        return Err(NtlmError("expected NTLM NEGOTIATE"));
    }
    u32_at(msg, 12).or(Err(NtlmError("truncated NTLM NEGOTIATE")))
}

/// Names the server announces in its CHALLENGE_MESSAGE.
#[derive(Debug, Clone)]
pub struct TargetNames {
    pub nb_domain: String,
    pub nb_computer: String,
    pub dns_domain: String,
    pub dns_computer: String,
}

/// CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2) with Version and TargetInfo.
pub fn build_challenge(flags: u32, challenge: &[u8; 8], timestamp: u64, names: &TargetNames, out: &mut Vec<u8>) {
    let unicode = flags & NEGOTIATE_UNICODE != 0;
    let target_name = if unicode { utf16le(&names.nb_computer) } else { names.nb_computer.as_bytes().to_vec() };
    let mut info = Vec::new();
    for (id, value) in [
        (MSV_AV_NB_DOMAIN_NAME, &names.nb_domain),
        (MSV_AV_NB_COMPUTER_NAME, &names.nb_computer),
        (MSV_AV_DNS_DOMAIN_NAME, &names.dns_domain),
        (MSV_AV_DNS_COMPUTER_NAME, &names.dns_computer),
    ] {
        push_av(&mut info, id, &utf16le(value));
    }
    push_av(&mut info, MSV_AV_TIMESTAMP, &timestamp.to_le_bytes());
    push_av(&mut info, MSV_AV_EOL, &[]);

    const HEADER: usize = 56;
    out.reserve(HEADER + target_name.len() + info.len());
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&CHALLENGE_MESSAGE.to_le_bytes());
    push_fields(out, target_name.len(), HEADER);
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(challenge);
    out.extend_from_slice(&[0; 8]);
    push_fields(out, info.len(), HEADER + target_name.len());
    out.extend_from_slice(&VERSION);
    out.extend_from_slice(&target_name);
    out.extend_from_slice(&info);
}

fn push_av(out: &mut Vec<u8>, id: u16, value: &[u8]) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
}

fn push_fields(out: &mut Vec<u8>, len: usize, offset: usize) {
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.extend_from_slice(&(offset as u32).to_le_bytes());
}

/// AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3), borrowed from the wire bytes.
#[derive(Debug, Clone)]
pub struct Authenticate<'a> {
    pub lm_response: &'a [u8],
    pub nt_response: &'a [u8],
    pub domain: String,
    pub user: String,
    pub workstation: String,
    pub encrypted_session_key: &'a [u8],
    pub flags: u32,
    /// Where the MIC would be, when the message has room for Version + MIC.
    pub mic: Option<&'a [u8]>,
}

pub fn parse_authenticate(msg: &[u8]) -> Result<Authenticate<'_>, NtlmError> {
    if message_type(msg)? != AUTHENTICATE_MESSAGE {
        return Err(NtlmError("expected NTLM AUTHENTICATE"));
    }
    let field = |at: usize| -> Result<&[u8], NtlmError> {
        let (len, off) = security_buffer(msg, at).or(Err(NtlmError("truncated NTLM AUTHENTICATE")))?;
        if len == 0 {
            return Ok(&[]);
        }
        msg.get(off..off.saturating_add(len)).ok_or(NtlmError("NTLM field past end of message"))
    };
    let flags = u32_at(msg, 60).or(Err(NtlmError("truncated NTLM AUTHENTICATE")))?;
    let unicode = flags & NEGOTIATE_UNICODE != 0;
    let text = |b: &[u8]| if unicode { from_utf16le_lossy(b) } else { b.iter().map(|&c| char::from(c)).collect() };
    // Lowest payload offset: the fixed part ends there, telling whether the
    // optional Version and MIC are present.
    let payload_start = [12, 20, 28, 36, 44, 52]
        .iter()
        .filter_map(|&at| security_buffer(msg, at).ok())
        .filter(|&(len, _)| len > 0)
        .map(|(_, off)| off)
        .min()
        .unwrap_or(msg.len());
    let mic = if payload_start >= MIC_OFFSET + 16 { msg.get(MIC_OFFSET..MIC_OFFSET + 16) } else { None };
    Ok(Authenticate {
        lm_response: field(12)?,
        nt_response: field(20)?,
        domain: text(field(28)?),
        user: text(field(36)?),
        workstation: text(field(44)?),
        encrypted_session_key: field(52)?,
        flags,
        mic,
    })
}

/// Looks up an AV pair in an NTLMv2_CLIENT_CHALLENGE's AvPairs.
pub fn find_av(mut pairs: &[u8], want: u16) -> Option<&[u8]> {
    loop {
        let id = u16_at(pairs, 0).ok()?;
        let len = usize::from(u16_at(pairs, 2).ok()?);
        if id == MSV_AV_EOL {
            return None;
        }
        let value = pairs.get(4..4 + len)?;
        if id == want {
            return Some(value);
        }
        pairs = pairs.get(4 + len..)?;
    }
}

/// Whether `pairs` is a list of AV_PAIRs (MS-NLMP 2.2.2.1) that stays
/// inside its buffer up to its MsvAvEOL.
pub fn av_pairs_well_formed(mut pairs: &[u8]) -> bool {
    loop {
        let (Ok(id), Ok(len)) = (u16_at(pairs, 0), u16_at(pairs, 2)) else { return false };
        if id == MSV_AV_EOL {
            return true;
        }
        match pairs.get(4 + usize::from(len)..) {
            Some(rest) => pairs = rest,
            None => return false,
        }
    }
}

/// MS-NLMP 3.3.2: NTOWFv2.
pub fn ntowfv2(password: &str, user: &str, domain: &str) -> [u8; 16] {
    ntowfv2_from_hash(&Md4::digest(utf16le(password)).into(), user, domain)
}

/// NTOWFv2 from the NT hash (MD4 of the password) a server keeps instead of
/// the password (MS-NLMP 3.3.2).
pub fn ntowfv2_from_hash(nt_hash: &[u8; 16], user: &str, domain: &str) -> [u8; 16] {
    let mut ud = utf16le(&upper(user));
    ud.extend(utf16le(domain));
    hmac_md5(nt_hash, &[&ud])
}

/// NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge || temp).
pub fn nt_proof(response_key: &[u8; 16], server_challenge: &[u8; 8], temp: &[u8]) -> [u8; 16] {
    hmac_md5(response_key, &[server_challenge, temp])
}

/// SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr) (also KeyExchangeKey for NTLMv2).
pub fn session_base_key(response_key: &[u8; 16], proof: &[u8; 16]) -> [u8; 16] {
    hmac_md5(response_key, &[proof])
}

/// RC4 over a 16-byte key (key exchange: MS-NLMP 3.2.5.1.2).
pub fn rc4_16(key: &[u8; 16], data: &[u8; 16]) -> [u8; 16] {
    let mut out = *data;
    if let Ok(mut c) = Rc4::new_from_slice(key) {
        c.apply_keystream(&mut out);
    }
    out
}

/// MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE-with-zero-MIC).
pub fn message_mic(exported: &[u8; 16], negotiate: &[u8], challenge: &[u8], authenticate: &[u8]) -> Option<[u8; 16]> {
    let mut auth = authenticate.to_vec();
    auth.get_mut(MIC_OFFSET..MIC_OFFSET + 16)?.fill(0);
    Some(hmac_md5(exported, &[negotiate, challenge, &auth]))
}

/// Direction of NTLM session security keys (MS-NLMP 3.4.5.2, 3.4.5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

/// SIGNKEY with extended session security.
pub fn sign_key(exported: &[u8; 16], dir: Direction) -> [u8; 16] {
    let magic: &[u8] = match dir {
        Direction::ClientToServer => b"session key to client-to-server signing key magic constant\0",
        Direction::ServerToClient => b"session key to server-to-client signing key magic constant\0",
    };
    Md5::new().chain_update(exported).chain_update(magic).finalize().into()
}

/// SEALKEY with extended session security; its length follows the 128/56 flags.
pub fn seal_key(exported: &[u8; 16], flags: u32, dir: Direction) -> Vec<u8> {
    let magic: &[u8] = match dir {
        Direction::ClientToServer => b"session key to client-to-server sealing key magic constant\0",
        Direction::ServerToClient => b"session key to server-to-client sealing key magic constant\0",
    };
    let len = if flags & NEGOTIATE_128 != 0 {
        16
    } else if flags & NEGOTIATE_56 != 0 {
        7
    } else {
        5
    };
    let base = exported.get(..len).unwrap_or(exported);
    let key: [u8; 16] = Md5::new().chain_update(base).chain_update(magic).finalize().into();
    key.to_vec()
}

/// NTLMSSP_MESSAGE_SIGNATURE with extended session security (MS-NLMP
/// 3.4.4.2), for a fresh sealing handle and the given sequence number, as
/// GSS_GetMIC produces it for the SPNEGO mechListMIC.
pub fn mac(exported: &[u8; 16], flags: u32, dir: Direction, seq: u32, message: &[u8]) -> [u8; 16] {
    let checksum = hmac_md5(&sign_key(exported, dir), &[&seq.to_le_bytes(), message]);
    let mut cs = [0u8; 8];
    cs.copy_from_slice(&checksum[..8]);
    if flags & NEGOTIATE_KEY_EXCH != 0
        && let Ok(mut rc4) = Rc4::new_from_slice(&seal_key(exported, flags, dir))
    {
        rc4.apply_keystream(&mut cs);
    }
    let mut sig = [0u8; 16];
    sig[..4].copy_from_slice(&1u32.to_le_bytes());
    sig[4..12].copy_from_slice(&cs);
    sig[12..].copy_from_slice(&seq.to_le_bytes());
    sig
}

pub fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Windows-style simple uppercase (one char to one char).
pub fn upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut u = c.to_uppercase();
            match (u.next(), u.next()) {
                (Some(one), None) => one,
                _ => c,
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
