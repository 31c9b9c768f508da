//! SMB2 SESSION_SETUP authentication: SPNEGO (RFC 4178, MS-SPNG) carrying
//! NTLMSSP (MS-NLMP), server side, as a pure state machine.
//!
//! Accepted: NTLMv2 for configured users, guest and anonymous when allowed.
//! Refused: NTLMv1/LM responses (LogonFailure). The NTLM MIC is verified
//! when the client flags it (MsvAvFlags bit 0x2); the SPNEGO mechListMIC is
//! verified when sent and answered with the server's (MS-SPNG 3.1.5.1).

pub mod der;
pub mod ntlm;
pub mod spnego;

#[cfg(test)]
mod tests;

use crate::config::{NtHash, User};
use crate::smb::signing::constant_time_eq;
use ntlm::{Direction, NtlmError};
use spnego::ClientToken;

/// Largest SESSION_SETUP security buffer accepted.
pub const MAX_TOKEN: usize = 64 * 1024;

/// Who a session authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A configured user, by its configured name.
    User(String),
    Guest,
    Anonymous,
}

/// The accounts a server accepts.
#[derive(Debug, Clone, Copy)]
pub struct AuthUsers<'a> {
    pub users: &'a [User],
    /// Whether guest and anonymous logons are allowed.
    pub guest: bool,
    /// NetBIOS domain (workgroup) name announced in the CHALLENGE.
    pub domain: &'a str,
    /// NetBIOS computer name announced in the CHALLENGE.
    pub server_name: &'a str,
}

impl<'a> AuthUsers<'a> {
    /// The accounts and names of an SMB server configuration. Requiring
    /// signing refuses guest and anonymous logons: they cannot sign.
    pub fn from_config(smb: &'a crate::config::SmbConfig) -> Self {
        Self {
            users: &smb.users,
            guest: smb.guest && !smb.require_signing,
            domain: &smb.domain,
            server_name: &smb.server_name,
        }
    }
}

/// Outcome of one SESSION_SETUP round.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthStep {
    /// STATUS_MORE_PROCESSING_REQUIRED with this SecurityBuffer.
    Continue { token: Vec<u8> },
    /// STATUS_SUCCESS with this SecurityBuffer. `session_key` is the NTLM
    /// ExportedSessionKey (MS-SMB2 Session.SessionKey); None for guest and
    /// anonymous, which cannot sign.
    Done { token: Vec<u8>, identity: Identity, session_key: Option<[u8; 16]> },
}

impl std::fmt::Debug for AuthStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Continue { token } => f.debug_struct("Continue").field("token_len", &token.len()).finish(),
            Self::Done { token, identity, session_key } => f
                .debug_struct("Done")
                .field("token_len", &token.len())
                .field("identity", identity)
                .field("session_key", &session_key.map(|_| "<redacted>"))
                .finish(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// STATUS_LOGON_FAILURE.
    #[error("logon failure")]
    LogonFailure,
    /// STATUS_INVALID_PARAMETER.
    #[error("invalid security token: {0}")]
    InvalidToken(&'static str),
}

impl From<der::DerError> for AuthError {
    fn from(e: der::DerError) -> Self {
        Self::InvalidToken(e.0)
    }
}

impl From<NtlmError> for AuthError {
    fn from(e: NtlmError) -> Self {
        Self::InvalidToken(e.0)
    }
}

/// The SecurityBuffer of the NEGOTIATE response: a SPNEGO NegTokenInit2
/// advertising NTLMSSP only.
pub fn negotiate_token() -> Vec<u8> {
    spnego::neg_token_init2()
}

#[derive(Debug)]
enum State {
    /// Waiting for the NTLM NEGOTIATE_MESSAGE.
    Initial,
    /// CHALLENGE sent; the raw messages feed the MIC.
    ChallengeSent {
        negotiate: Vec<u8>,
        challenge: Vec<u8>,
    },
    Finished,
}

/// One SESSION_SETUP exchange (MS-NLMP 3.2.5.1).
#[derive(Debug)]
pub struct NtlmAcceptor {
    server_challenge: [u8; 8],
    timestamp: u64,
    state: State,
    /// The client wraps its tokens in SPNEGO (answer in kind).
    spnego: bool,
    /// DER of the client's MechTypeList, covered by the mechListMIC.
    mech_types: Option<Vec<u8>>,
    /// NTLM was not the client's preferred mechanism: a mechListMIC is due.
    mic_required: bool,
}

impl NtlmAcceptor {
    /// `timestamp` is the current FILETIME, sent as MsvAvTimestamp.
    pub fn new(server_challenge: [u8; 8], timestamp: u64) -> Self {
        Self {
            server_challenge,
            timestamp,
            state: State::Initial,
            spnego: false,
            mech_types: None,
            mic_required: false,
        }
    }

    /// Feeds the client's SESSION_SETUP SecurityBuffer.
    pub fn step(&mut self, users: &AuthUsers, token: &[u8]) -> Result<AuthStep, AuthError> {
        if token.len() > MAX_TOKEN {
            return Err(AuthError::InvalidToken("security buffer too large"));
        }
        match spnego::parse(token)? {
            ClientToken::Init { mech_types, offers_ntlm, ntlm_first, mech_token } => {
                if !matches!(self.state, State::Initial) {
                    return Err(AuthError::InvalidToken("unexpected NegTokenInit"));
                }
                if !offers_ntlm {
                    return Err(AuthError::InvalidToken("NTLMSSP not offered"));
                }
                self.spnego = true;
                self.mech_types = Some(mech_types.to_vec());
                match mech_token {
                    Some(t) if ntlm_first => self.ntlm(users, t, None),
                    _ => {
                        // Select NTLMSSP and ask for its first token (RFC 4178 5).
                        self.mic_required = true;
                        let token = spnego::neg_token_resp(spnego::ACCEPT_INCOMPLETE, true, None, None);
                        Ok(AuthStep::Continue { token })
                    }
                }
            }
            ClientToken::Resp { response_token, mech_list_mic } => {
                self.spnego = true;
                let t = response_token.ok_or(AuthError::InvalidToken("NegTokenResp without responseToken"))?;
                self.ntlm(users, t, mech_list_mic)
            }
            ClientToken::Raw(t) => {
                if matches!(self.state, State::Initial) {
                    self.spnego = false;
                }
                self.ntlm(users, t, None)
            }
        }
    }

    fn ntlm(&mut self, users: &AuthUsers, msg: &[u8], mech_list_mic: Option<&[u8]>) -> Result<AuthStep, AuthError> {
        let state = std::mem::replace(&mut self.state, State::Finished);
        match (state, ntlm::message_type(msg)?) {
            (State::Initial, ntlm::NEGOTIATE_MESSAGE) => {
                let client_flags = ntlm::parse_negotiate(msg)?;
                let mut challenge = Vec::new();
                ntlm::build_challenge(
                    challenge_flags(client_flags),
                    &self.server_challenge,
                    self.timestamp,
                    &target_names(users),
                    &mut challenge,
                );
                let token = if self.spnego {
                    spnego::neg_token_resp(spnego::ACCEPT_INCOMPLETE, true, Some(&challenge), None)
                } else {
                    challenge.clone()
                };
                self.state = State::ChallengeSent { negotiate: msg.to_vec(), challenge };
                Ok(AuthStep::Continue { token })
            }
            (State::ChallengeSent { negotiate, challenge }, ntlm::AUTHENTICATE_MESSAGE) => {
                let (identity, session_key, flags) =
                    authenticate(users, &self.server_challenge, msg, &negotiate, &challenge)?;
                let mut server_mic = None;
                if let (Some(key), Some(mech_types)) = (&session_key, &self.mech_types)
                    && flags & ntlm::NEGOTIATE_EXTENDED_SESSIONSECURITY != 0
                {
                    if let Some(mic) = mech_list_mic {
                        let expect = ntlm::mac(key, flags, Direction::ClientToServer, 0, mech_types);
                        if !constant_time_eq(&expect, mic) {
                            return Err(AuthError::LogonFailure);
                        }
                    }
                    if mech_list_mic.is_some() || self.mic_required {
                        server_mic = Some(ntlm::mac(key, flags, Direction::ServerToClient, 0, mech_types));
                    }
                }
                let token = if self.spnego {
                    spnego::neg_token_resp(spnego::ACCEPT_COMPLETED, false, None, server_mic.as_ref().map(|m| &m[..]))
                } else {
                    Vec::new()
                };
                Ok(AuthStep::Done { token, identity, session_key })
            }
            _ => Err(AuthError::InvalidToken("unexpected NTLM message")),
        }
    }
}

/// MS-NLMP 3.2.5.1.1: echo what the client asked for that we support.
fn challenge_flags(client: u32) -> u32 {
    let mut flags =
        (client & ntlm::ECHOED) | ntlm::NEGOTIATE_NTLM | ntlm::NEGOTIATE_TARGET_INFO | ntlm::TARGET_TYPE_SERVER;
    if client & ntlm::NEGOTIATE_UNICODE == 0 {
        flags |= ntlm::NEGOTIATE_OEM;
    }
    flags
}

fn target_names(users: &AuthUsers) -> ntlm::TargetNames {
    let computer = if users.server_name.is_empty() { "POLYSHARE" } else { users.server_name };
    let domain = if users.domain.is_empty() { computer } else { users.domain };
    ntlm::TargetNames {
        nb_domain: ntlm::upper(domain),
        nb_computer: ntlm::upper(computer),
        dns_domain: domain.to_lowercase(),
        dns_computer: computer.to_lowercase(),
    }
}

/// NTLMv2 response: NTProofStr (16) then NTLMv2_CLIENT_CHALLENGE (at least 28 bytes).
const MIN_NTLMV2_RESPONSE: usize = 16 + 28;
/// Offset of AvPairs inside NTLMv2_CLIENT_CHALLENGE.
const CLIENT_CHALLENGE_AV_PAIRS: usize = 28;

/// MS-NLMP 3.2.5.1.2: checks the AUTHENTICATE_MESSAGE; returns the identity,
/// the ExportedSessionKey and the client's flags.
fn authenticate(
    users: &AuthUsers,
    server_challenge: &[u8; 8],
    msg: &[u8],
    negotiate: &[u8],
    challenge: &[u8],
) -> Result<(Identity, Option<[u8; 16]>, u32), AuthError> {
    let a = ntlm::parse_authenticate(msg)?;
    let guest = || if users.guest { Ok((Identity::Guest, None, a.flags)) } else { Err(AuthError::LogonFailure) };
    if a.user.is_empty() {
        return if users.guest { Ok((Identity::Anonymous, None, a.flags)) } else { Err(AuthError::LogonFailure) };
    }
    let wanted = ntlm::upper(&a.user);
    let Some(user) = users.users.iter().find(|u| ntlm::upper(&u.name) == wanted) else {
        return guest();
    };
    if a.nt_response.is_empty() {
        return guest();
    }
    if a.nt_response.len() < MIN_NTLMV2_RESPONSE {
        // NTLMv1 (24 bytes) or garbage.
        return Err(AuthError::LogonFailure);
    }
    let (proof, blob) = a.nt_response.split_at(16);
    // A malformed NTLMv2_CLIENT_CHALLENGE is a bad token, whatever the
    // proof (Windows answers STATUS_INVALID_PARAMETER; smbtorture
    // smb2.session.ntlmssp_bug14932).
    if !ntlm::av_pairs_well_formed(blob.get(CLIENT_CHALLENGE_AV_PAIRS..).unwrap_or(&[])) {
        return Err(AuthError::InvalidToken("malformed NTLMv2 AvPairs"));
    }
    let verify = |nt_hash: &NtHash| {
        let mut domains = vec![a.domain.as_str()];
        if !a.domain.is_empty() {
            domains.push("");
        }
        domains.into_iter().find_map(|d| {
            let key = ntlm::ntowfv2_from_hash(nt_hash.as_bytes(), &a.user, d);
            let expect = ntlm::nt_proof(&key, server_challenge, blob);
            constant_time_eq(&expect, proof).then(|| ntlm::session_base_key(&key, &expect))
        })
    };
    let Some(base_key) = verify(&user.nt_hash) else {
        // A client with no password for a known name is a guest logon.
        if !user.nt_hash.is_empty_password() && verify(&NtHash::from_password("")).is_some() {
            return guest();
        }
        return Err(AuthError::LogonFailure);
    };
    // NTLMv2: KeyExchangeKey = SessionBaseKey.
    let exported = if a.flags & ntlm::NEGOTIATE_KEY_EXCH != 0 {
        let enc: &[u8; 16] =
            a.encrypted_session_key.try_into().map_err(|_| AuthError::InvalidToken("bad EncryptedRandomSessionKey"))?;
        ntlm::rc4_16(&base_key, enc)
    } else {
        base_key
    };
    let av_pairs = blob.get(CLIENT_CHALLENGE_AV_PAIRS..).unwrap_or(&[]);
    let mic_present = ntlm::find_av(av_pairs, ntlm::MSV_AV_FLAGS)
        .filter(|v| v.len() == 4)
        .and_then(|v| crate::smb::wire::codec::u32_at(v, 0).ok())
        .is_some_and(|f| f & ntlm::AV_FLAG_MIC_PRESENT != 0);
    if mic_present {
        let sent = a.mic.ok_or(AuthError::InvalidToken("MIC flagged but absent"))?;
        let expect =
            ntlm::message_mic(&exported, negotiate, challenge, msg).ok_or(AuthError::InvalidToken("no MIC field"))?;
        if !constant_time_eq(&expect, sent) {
            return Err(AuthError::LogonFailure);
        }
    }
    Ok((Identity::User(user.name.clone()), Some(exported), a.flags))
}
