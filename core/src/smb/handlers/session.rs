//! SESSION_SETUP and LOGOFF (MS-SMB2 3.3.5.5, 3.3.5.6).

use crate::smb::auth::{AuthError, AuthStep, AuthUsers, Identity, NtlmAcceptor};
use crate::smb::conn::Session;
use crate::smb::ctx::{Ctx, HandlerResult, Outcome, PreauthTarget, ok_with};
use crate::smb::wire::codec::to_vec;
use crate::smb::kdf;
use crate::smb::status;
use crate::smb::wire::negotiate::{DIALECT_300, DIALECT_311, SIGNING_REQUIRED};
use crate::smb::wire::session_setup::*;
use crate::time::TimerKey;

/// Sessions one connection may have (set up or being set up).
const MAX_SESSIONS_PER_CONN: usize = 64;

pub fn session_setup(cx: &mut Ctx<'_>) -> HandlerResult {
    let req = SessionSetupRequest::decode(&cx.msg).map_err(|_| status::INVALID_PARAMETER)?;
    if req.flags & SESSION_FLAG_BINDING != 0 {
        // No multichannel: binding another connection is refused.
        return Err(status::REQUEST_NOT_ACCEPTED);
    }
    let dialect = cx.conn.dialect;
    let sid = match cx.hdr.session_id {
        0 => {
            if cx.conn.sessions.len() >= MAX_SESSIONS_PER_CONN {
                return Err(status::INSUFFICIENT_RESOURCES);
            }
            let id = cx.smb.new_session_id();
            let mut s = Session::new(id);
            if dialect == DIALECT_311 {
                s.preauth = cx.conn.preauth.clone();
            }
            cx.conn.sessions.insert(id, s);
            id
        }
        id => id,
    };
    let challenge = cx.core.rng.bytes::<8>();
    let filetime = cx.wall().to_filetime();
    let conn_preauth = cx.conn.preauth.clone();
    let session = cx.conn.sessions.get_mut(&sid).ok_or(status::USER_SESSION_DELETED)?;
    if session.auth.is_none() {
        // A new exchange (first leg, or re-authentication of a valid session).
        session.auth = Some(NtlmAcceptor::new(challenge, filetime));
        if dialect == DIALECT_311 && session.valid {
            session.preauth = conn_preauth;
        }
    }
    if let Some(p) = session.preauth.as_mut() {
        p.update(&cx.msg);
    }
    cx.resp_session = Some(sid);
    let cfg = &cx.core.config.smb;
    let users = AuthUsers { users: &cfg.users, guest: cfg.guest, domain: &cfg.domain, server_name: &cfg.server_name };
    let Some(acceptor) = session.auth.as_mut() else { return Err(status::INTERNAL_ERROR) };
    let step = acceptor.step(&users, &req.security_buffer);
    match step {
        Ok(AuthStep::Continue { token }) => {
            cx.preauth = PreauthTarget::Session(sid);
            Ok(Outcome::Reply {
                status: status::MORE_PROCESSING_REQUIRED,
                body: to_vec(|b| encode_session_setup_response(0, &token, b)),
            })
        }
        Ok(AuthStep::Done { token, identity, session_key }) => {
            session.auth = None;
            session.valid = true;
            let flags = match identity {
                Identity::Guest => SESSION_FLAG_IS_GUEST,
                Identity::Anonymous => SESSION_FLAG_IS_NULL,
                Identity::User(_) => 0,
            };
            let user = matches!(identity, Identity::User(_));
            tracing::debug!(session = sid, ?identity, "session established");
            session.identity = Some(identity);
            if let (true, Some(key)) = (user, session_key) {
                let preauth = session.preauth.as_ref().map(|p| *p.value());
                session.signing_key = Some(kdf::signing_key(dialect, &key, preauth.as_ref()));
                session.signing_required =
                    req.security_mode as u16 & SIGNING_REQUIRED != 0 || cx.core.config.smb.require_signing;
                cx.force_sign = dialect >= DIALECT_300 || session.signing_required;
            } else {
                session.signing_key = None;
                session.signing_required = false;
            }
            session.preauth = None;
            cx.core.timers.cancel(TimerKey::Unauthenticated(cx.conn.id));
            ok_with(|b| encode_session_setup_response(flags, &token, b))
        }
        Err(e) => {
            let valid = session.valid;
            session.auth = None;
            if !valid {
                cx.conn.sessions.remove(&sid);
            }
            Err(match e {
                AuthError::LogonFailure => status::LOGON_FAILURE,
                _ => status::INVALID_PARAMETER,
            })
        }
    }
}

pub fn logoff(cx: &mut Ctx<'_>) -> HandlerResult {
    cx.session()?;
    let sid = cx.hdr.session_id;
    if let Some(s) = cx.conn.sessions.remove(&sid) {
        // The response is signed with the key of the session being removed.
        if cx.hdr.is_signed() || s.signing_required {
            cx.sign_override = s.signing_key;
        }
        // MS-SMB2 3.3.5.6: durable opens outlive the session.
        for (_, o) in s.opens {
            crate::smb::durable::disconnect(cx.core, cx.smb, o, cx.now);
        }
    }
    ok_with(encode_empty_response)
}
