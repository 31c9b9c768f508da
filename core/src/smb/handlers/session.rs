//! SESSION_SETUP and LOGOFF (MS-SMB2 3.3.5.5, 3.3.5.6).
//!
//! A re-authentication (SESSION_SETUP on a valid session) keeps what the
//! session was set up with: its user, its SessionKey and signing key, and
//! whether it requires signing (3.3.5.5.2: "the existing Session.SessionKey
//! will be retained"; 3.3.5.5.3: a Session.SecurityContext already set is
//! not changed). It succeeds when it proves the same user, or nobody (guest
//! or anonymous: the session stays the user's); proving another user, or
//! failing, logs the session off (3.3.5.5.3).

use crate::smb::auth::{AuthError, AuthStep, AuthUsers, Identity, NtlmAcceptor};
use crate::smb::ctx::{Ctx, HandlerResult, Outcome, PreauthTarget, ok_with};
use crate::smb::kdf;
use crate::smb::logoff::log_off;
use crate::smb::status;
use crate::smb::wire::codec::to_vec;
use crate::smb::wire::negotiate::{DIALECT_300, DIALECT_311, SIGNING_REQUIRED};
use crate::smb::wire::session_setup::*;
use crate::time::TimerKey;

/// Sessions one connection may have (set up or being set up).
const MAX_SESSIONS_PER_CONN: usize = 64;

pub fn session_setup(cx: &mut Ctx<'_>) -> HandlerResult {
    let req = SessionSetupRequest::decode(&cx.msg).map_err(|_| status::INVALID_PARAMETER)?;
    let (dialect, should_sign) = (cx.conn.dialect, cx.conn.client_security_mode & SIGNING_REQUIRED != 0);
    // 3.3.5.5: global EncryptData refuses a client that cannot encrypt.
    let require_encryption = cx.core.config.smb.require_encryption;
    if require_encryption && cx.conn.cipher.is_none() {
        return Err(status::ACCESS_DENIED);
    }
    if req.flags & SESSION_FLAG_BINDING != 0 {
        return crate::smb::handlers::binding::bind(cx, &req);
    }
    let sid = match cx.hdr.session_id {
        0 => {
            if cx.smb.sessions_of(cx.conn.id).len() >= MAX_SESSIONS_PER_CONN {
                return Err(status::INSUFFICIENT_RESOURCES);
            }
            let id = cx.smb.new_session(&mut cx.core.rng, cx.conn);
            if let (DIALECT_311, Some(s)) = (dialect, cx.smb.sessions.get_mut(&id)) {
                s.preauth = cx.conn.preauth.clone();
            }
            id
        }
        id => id,
    };
    let challenge = cx.core.rng.bytes::<8>();
    let filetime = cx.wall().to_filetime();
    let session = cx.smb.session_mut(cx.conn.id, sid).ok_or(status::USER_SESSION_DELETED)?;
    let reauth = session.valid;
    if session.auth.is_none() {
        // A new exchange: the first leg, or a re-authentication.
        session.auth = Some(NtlmAcceptor::new(challenge, filetime));
    }
    // 3.3.5.5.3: the preauth hash covers the setup of a new session only.
    if let (false, Some(p)) = (reauth, session.preauth.as_mut()) {
        p.update(&cx.msg);
    }
    cx.resp_session = Some(sid);
    let users = AuthUsers::from_config(&cx.core.config.smb);
    let Some(acceptor) = session.auth.as_mut() else { return Err(status::INTERNAL_ERROR) };
    let step = acceptor.step(&users, &req.security_buffer);
    match step {
        Ok(AuthStep::Continue { token }) => {
            if !reauth {
                cx.preauth = PreauthTarget::Session(sid);
            }
            Ok(Outcome::Reply {
                status: status::MORE_PROCESSING_REQUIRED,
                body: to_vec(|b| encode_session_setup_response(0, &token, b)),
            })
        }
        Ok(AuthStep::Done { token, identity, session_key }) => {
            session.auth = None;
            if reauth {
                return reauthenticated(cx, sid, identity, &token);
            }
            if require_encryption && !matches!(identity, Identity::User(_)) {
                // Guest and anonymous sessions have no key to encrypt with.
                tracing::info!(conn = cx.conn.id.0, session = sid, "unencrypted logon refused");
                log_off(cx.core, cx.smb, sid, cx.now);
                return Err(status::ACCESS_DENIED);
            }
            session.valid = true;
            let mut flags = match identity {
                Identity::Guest => SESSION_FLAG_IS_GUEST,
                Identity::Anonymous => SESSION_FLAG_IS_NULL,
                Identity::User(_) => 0,
            };
            tracing::debug!(session = sid, ?identity, "session established");
            let user = match &identity {
                Identity::User(name) => Some(name.clone()),
                _ => None,
            };
            session.identity = Some(identity);
            if let (true, Some(key)) = (user.is_some(), session_key) {
                let preauth = session.preauth.as_ref().map(|p| *p.value());
                session.signing_key = Some(kdf::signing_key(dialect, &key, preauth.as_ref()));
                // 3.3.5.5.3: the client's SecurityMode, now or at NEGOTIATE
                // (Connection.ShouldSign), or the server's configuration.
                session.signing_required = req.security_mode as u16 & SIGNING_REQUIRED != 0
                    || should_sign
                    || cx.core.config.smb.require_signing;
                cx.force_sign = dialect >= DIALECT_300 || session.signing_required;
                session.cipher = cx.conn.cipher.and_then(|c| kdf::session_cipher(dialect, c, &key, preauth.as_ref()));
                // 3.3.5.5.3: an encrypted session needs no signing.
                if require_encryption && session.cipher.is_some() {
                    session.encrypt_data = true;
                    session.signing_required = false;
                    flags |= SESSION_FLAG_ENCRYPT_DATA;
                }
                if let (Some(c), Some(export)) = (&session.cipher, &cx.core.config.smb.session_key_export) {
                    export.export(sid, &key, c.encrypt.bytes(), c.decrypt.bytes());
                }
            }
            session.preauth = None;
            // 3.3.5.5.3: the first channel signs with Session.SigningKey.
            let key = session.signing_key;
            if let Some(c) = session.channels.get_mut(&cx.conn.id) {
                c.signing_key = key;
            }
            cx.core.timers.cancel(TimerKey::Unauthenticated(cx.conn.id));
            end_previous_session(cx, req.previous_session_id, sid);
            ok_with(|b| encode_session_setup_response(flags, &token, b))
        }
        Err(e) => {
            // 3.3.5.5.3: a failed authentication removes the session, a
            // valid one (re-authentication) with its opens and trees.
            log_off(cx.core, cx.smb, sid, cx.now);
            Err(match e {
                AuthError::LogonFailure => status::LOGON_FAILURE,
                _ => status::INVALID_PARAMETER,
            })
        }
    }
}

/// The end of a re-authentication that proved `identity`: the session keeps
/// its user, keys and signing unless `identity` is another user, which
/// logs it off.
fn reauthenticated(cx: &mut Ctx<'_>, sid: u64, identity: Identity, token: &[u8]) -> HandlerResult {
    let Some(session) = cx.smb.session(cx.conn.id, sid) else { return Err(status::USER_SESSION_DELETED) };
    let same = match (&session.identity, &identity) {
        (Some(Identity::User(was)), Identity::User(now)) => was == now,
        (Some(Identity::User(_)), Identity::Guest | Identity::Anonymous) => true,
        (Some(Identity::Guest | Identity::Anonymous), Identity::Guest | Identity::Anonymous) => true,
        _ => false,
    };
    if !same {
        tracing::info!(conn = cx.conn.id.0, session = sid, "re-authentication as another user; logging off");
        log_off(cx.core, cx.smb, sid, cx.now);
        return Err(status::ACCESS_DENIED);
    }
    let flags = match session.identity {
        Some(Identity::Guest) => SESSION_FLAG_IS_GUEST,
        Some(Identity::Anonymous) => SESSION_FLAG_IS_NULL,
        _ => 0,
    };
    // The final response of a user session is signed (3.3.5.5.3).
    cx.force_sign = session.signing_key.is_some();
    tracing::debug!(session = sid, "session re-authenticated");
    ok_with(|b| encode_session_setup_response(flags, token, b))
}

/// 3.3.5.5.3: a PreviousSessionId naming another session of the same user
/// ends that session (a client reconnecting after losing its connection);
/// one of another user is ignored. Guest logons are all the one guest
/// account, so a guest session ends a guest one (smbd 4.17 ends none for
/// guests); anonymous ones prove no account and end nothing.
fn end_previous_session(cx: &mut Ctx<'_>, previous: u64, sid: u64) {
    if previous == 0 || previous == sid {
        return;
    }
    let (Some(old), Some(new)) = (cx.smb.sessions.get(&previous), cx.smb.sessions.get(&sid)) else { return };
    let same = match (&old.identity, &new.identity) {
        (Some(Identity::User(was)), Some(Identity::User(now))) => was == now,
        (Some(Identity::Guest), Some(Identity::Guest)) => true,
        _ => false,
    };
    if same {
        log_off(cx.core, cx.smb, previous, cx.now);
    }
}

pub fn logoff(cx: &mut Ctx<'_>) -> HandlerResult {
    cx.session()?;
    let sid = cx.hdr.session_id;
    // The response is sealed as the session required, with its key, before
    // the session and its keys are gone.
    let (encrypted, tid) = (cx.encrypted, cx.hdr.tree_id);
    cx.seal_override = crate::smb::seal::response_seal(cx.smb, cx.conn.id, encrypted, crate::smb::wire::header::command::LOGOFF, sid, tid);
    if let Some(s) = log_off(cx.core, cx.smb, sid, cx.now) {
        // The response is signed with the key of the session being removed,
        // as this channel signs (3.3.4.1.1); the session ends on every
        // channel (3.3.5.6).
        if cx.hdr.is_signed() || s.signing_required {
            cx.sign_override = s.channel_key(cx.conn.id).map(|k| (cx.conn.signing, k));
        }
    }
    ok_with(encode_empty_response)
}
