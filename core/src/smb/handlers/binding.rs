//! Session binding: a SESSION_SETUP with SMB2_SESSION_FLAG_BINDING makes
//! its connection another channel of an existing session (MS-SMB2 3.3.5.5,
//! 3.3.5.5.3, multichannel). The new connection authenticates the
//! session's own user again; its channel then signs with a key of its own
//! (Channel.SigningKey), while the session's trees, opens and encryption
//! keys are shared by every channel.

use crate::smb::auth::{AuthError, AuthStep, AuthUsers, Identity, NtlmAcceptor};
use crate::smb::conn::{Binding, Channel};
use crate::smb::ctx::{Ctx, HandlerResult, Outcome, PreauthTarget, ok_with};
use crate::smb::kdf;
use crate::smb::signing::{self, SigningAlgorithm};
use crate::smb::status;
use crate::smb::wire::codec::to_vec;
use crate::smb::wire::negotiate::{DIALECT_300, DIALECT_311};
use crate::smb::wire::session_setup::{SessionSetupRequest, encode_session_setup_response};

/// Channels one session may have (a bound on Session.ChannelList).
const MAX_CHANNELS: usize = 32;

pub fn bind(cx: &mut Ctx<'_>, req: &SessionSetupRequest) -> HandlerResult {
    let conn = cx.conn.id;
    let sid = cx.hdr.session_id;
    // IsMultiChannelCapable FALSE (3.3.5.5 <290>).
    if !cx.core.config.smb.multichannel {
        return Err(status::REQUEST_NOT_ACCEPTED);
    }
    let (challenge, filetime) = (cx.core.rng.bytes::<8>(), cx.wall().to_filetime());
    // 3.3.5.5: looked up in GlobalSessionTable; whatever the answer, it is
    // signed with Session.SigningKey, the key the client can check on a
    // connection that is not yet a channel (Samba bug 14512).
    let session = cx.smb.sessions.get(&sid).ok_or(status::USER_SESSION_DELETED)?;
    let session_sign = session.signing_key.map(|k| (session.signing, k));
    cx.sign_override = session_sign;
    let binding = session.channels.get(&conn).is_some_and(|c| c.binding.is_some());
    if !binding {
        // The checks of 3.3.5.5 on the first leg, in the order smbd 4.17
        // makes them (smbtorture smb2.session.bind_negative_*). First, a
        // channel signs as the session does, or both with a pre-GMAC
        // algorithm (HMAC-SHA256, AES-CMAC).
        let gmac = |a| a == SigningAlgorithm::AesGmac;
        if gmac(session.signing) && session.signing != cx.conn.signing {
            return Err(status::REQUEST_OUT_OF_SEQUENCE);
        }
        if !gmac(session.signing) && gmac(cx.conn.signing) {
            return Err(status::NOT_SUPPORTED);
        }
        // A 2.x connection refuses binding (<290>).
        if cx.conn.dialect < DIALECT_300 {
            return Err(status::REQUEST_NOT_ACCEPTED);
        }
        if session.dialect != cx.conn.dialect || !cx.hdr.is_signed() {
            return Err(status::INVALID_PARAMETER);
        }
        // It encrypts with the session's cipher.
        if session.cipher_id != cx.conn.cipher {
            return Err(status::INVALID_PARAMETER);
        }
        if session.client_guid != cx.conn.client_guid {
            return Err(status::USER_SESSION_DELETED);
        }
        if !session.valid {
            return Err(status::REQUEST_NOT_ACCEPTED);
        }
        if session.is_guest_or_anonymous() {
            return Err(status::NOT_SUPPORTED);
        }
        if session.channels.contains_key(&conn) {
            return Err(status::REQUEST_NOT_ACCEPTED);
        }
        if session.channels.len() >= MAX_CHANNELS {
            return Err(status::INSUFFICIENT_RESOURCES);
        }
    }
    // Every leg is signed with Session.SigningKey (3.3.5.5, 3.3.5.2.4).
    let Some((algorithm, key)) = session_sign else { return Err(status::NOT_SUPPORTED) };
    let user = session.identity.clone();
    if !cx.hdr.is_signed() || !signing::verify(algorithm, &key, &cx.msg) {
        tracing::info!(conn = conn.0, session = sid, "binding request not signed with the session's key");
        forget_binding(cx, sid);
        return Err(status::ACCESS_DENIED);
    }
    if !binding {
        let auth = NtlmAcceptor::new(challenge, filetime);
        // 3.3.5.5: PreauthSession starts from Connection.PreauthIntegrityHashValue.
        let preauth = if cx.conn.dialect == DIALECT_311 { cx.conn.preauth.clone() } else { None };
        let channel = Channel { peer: cx.conn.peer, signing_key: None, binding: Some(Binding { auth, preauth }) };
        if let Some(s) = cx.smb.sessions.get_mut(&sid) {
            s.channels.insert(conn, channel);
        }
    }
    // Unknown credentials fall back to guest as for any logon, and are then
    // refused as another user below (smbtorture smb2.session.bind_invalid_auth).
    let users = AuthUsers::from_config(&cx.core.config.smb);
    let channel = cx.smb.sessions.get_mut(&sid).and_then(|s| s.channels.get_mut(&conn));
    let Some(b) = channel.and_then(|c| c.binding.as_mut()) else { return Err(status::INTERNAL_ERROR) };
    if let Some(p) = b.preauth.as_mut() {
        p.update(&cx.msg);
    }
    cx.resp_session = Some(sid);
    match b.auth.step(&users, &req.security_buffer) {
        Ok(AuthStep::Continue { token }) => {
            // 3.3.5.5.3: signed with Session.SigningKey (as set above);
            // hashed into the PreauthSession.
            cx.preauth = PreauthTarget::Binding(sid);
            Ok(Outcome::Reply {
                status: status::MORE_PROCESSING_REQUIRED,
                body: to_vec(|body| encode_session_setup_response(0, &token, body)),
            })
        }
        Ok(AuthStep::Done { token, identity, session_key }) => {
            // 3.3.5.5: the binding must authenticate Session.UserName;
            // another user, guest or anonymous is refused with
            // ACCESS_DENIED, as smbd and Windows answer (smbtorture
            // bind_invalid_auth, bind_different_user).
            let same = matches!((&user, &identity), (Some(Identity::User(was)), Identity::User(now)) if was == now);
            let (true, Some(session_key)) = (same, session_key) else {
                tracing::info!(conn = conn.0, session = sid, "binding as another user refused");
                forget_binding(cx, sid);
                return Err(status::ACCESS_DENIED);
            };
            let preauth = b.preauth.as_ref().map(|p| *p.value());
            // 3.3.5.5.3: Channel.SigningKey from this authentication's key
            // and, for 3.1.1, the PreauthSession hash.
            let channel_key = kdf::signing_key(cx.conn.dialect, &session_key, preauth.as_ref());
            if let Some(c) = cx.smb.sessions.get_mut(&sid).and_then(|s| s.channels.get_mut(&conn)) {
                c.binding = None;
                c.signing_key = Some(channel_key);
            }
            cx.core.timers.cancel(crate::time::TimerKey::Unauthenticated(conn));
            // The final response is signed with Channel.SigningKey.
            cx.sign_override = Some((cx.conn.signing, channel_key));
            tracing::debug!(conn = conn.0, session = sid, "channel bound");
            ok_with(|body| encode_session_setup_response(0, &token, body))
        }
        Err(e) => {
            // A failed binding ends the binding, not the session.
            forget_binding(cx, sid);
            Err(match e {
                AuthError::LogonFailure => status::LOGON_FAILURE,
                _ => status::INVALID_PARAMETER,
            })
        }
    }
}

/// Drops a binding in progress on this connection; the session's other
/// channels go on.
fn forget_binding(cx: &mut Ctx<'_>, sid: u64) {
    let conn = cx.conn.id;
    if let Some(s) = cx.smb.sessions.get_mut(&sid)
        && s.channels.get(&conn).is_some_and(|c| c.binding.is_some())
    {
        s.channels.remove(&conn);
    }
}
