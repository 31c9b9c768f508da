//! Message dispatch: compound walking (MS-SMB2 3.3.5.2.7), MessageId and
//! credit checks (3.3.5.2.3), signature verification (3.3.5.2.4), the
//! related-operation substitutions, response compounding with 8-byte
//! alignment, per-element signing (3.3.4.1.1) and async responses (3.3.4.2).

use std::time::Instant;

use bytes::Bytes;

use super::conn::IoKind;
use super::conn::{Follower, IoWait, NegotiateState, Pending, SmbConnection};
use super::ctx::{Ctx, Outcome, PreauthTarget};
use super::handlers;
use super::logoff::log_off;
use super::seal::{self, Seal, response_seal};
use super::send::{Element, flush, session_signing};
use super::wire::negotiate::DIALECT_300;
use super::wire::transform::TRANSFORM_PROTOCOL_ID;
use super::signing;
use super::status;
use super::wire::codec::FileId;
use super::wire::codec::to_vec;
use super::wire::error::encode_error_response;
use super::wire::header::{
    FLAG_ASYNC, FLAG_RELATED, FLAG_SERVER_TO_REDIR, Header, PROTOCOL_ID, command, compound_element_len,
};
use super::wire::smb1::SMB1_PROTOCOL_ID;
use crate::common::{Core, Flow};
use crate::id::Protocol;
use crate::io::IoResult;
use crate::smb::SmbShared;
use crate::splice::PipedData;

/// What the previous element of a related chain left behind.
#[derive(Debug, Default)]
struct Chain {
    /// The element being processed is the compound's first.
    first: bool,
    session_id: u64,
    tree_id: u32,
    file_id: Option<FileId>,
    status: u32,
    /// The SessionId of the TRANSFORM_HEADER the frame came in, if any.
    encrypted: Option<u64>,
}

pub(crate) fn handle_frame(
    core: &mut Core,
    smb: &mut SmbShared,
    conn: &mut SmbConnection,
    frame: Bytes,
    now: Instant,
) -> Flow {
    if frame.get(..4) == Some(&SMB1_PROTOCOL_ID[..]) {
        if conn.state != NegotiateState::Initial {
            return Flow::Close;
        }
        return match handlers::negotiate::smb1_negotiate(core, smb, conn, &frame, now) {
            Some(resp) => {
                core.send(conn.id, Protocol::Smb, &resp);
                Flow::Continue
            }
            None => Flow::Close,
        };
    }
    if frame.get(..4) == Some(&TRANSFORM_PROTOCOL_ID[..]) {
        // 3.3.5.2.1.1: only a 3.x connection decrypts; anything wrong closes it.
        if conn.state != NegotiateState::Done || conn.dialect < DIALECT_300 {
            return Flow::Close;
        }
        if frame.len() >= seal::UNSEAL_OFF_CORE {
            return unseal_off_core(core, smb, conn, frame);
        }
        return match seal::unseal_request(smb, conn.id, frame) {
            Some((sid, plain)) => handle_message(core, smb, conn, plain, Some(sid), now),
            None => Flow::Close,
        };
    }
    handle_message(core, smb, conn, frame, None, now)
}

/// A lone WRITE whose data the adapter received into pipes: `head` is the
/// message up to DataOffset (`framing::spliceable_write` found it unsigned,
/// not compounded and not in a TRANSFORM; the rest is checked here as for
/// any message).
pub(crate) fn handle_spliced_frame(
    core: &mut Core,
    smb: &mut SmbShared,
    conn: &mut SmbConnection,
    head: Bytes,
    data: PipedData,
    now: Instant,
) -> Flow {
    match Header::decode(&head) {
        Ok(h) if h.next_command == 0 && h.command == command::WRITE => {
            handle_message_with(core, smb, conn, head, None, Some(data), now)
        }
        _ => Flow::Close,
    }
}

/// A large TRANSFORM message (a WRITE, typically) is decrypted in place on
/// a worker; what is inside is handled when it comes back ([`unsealed`]).
fn unseal_off_core(core: &mut Core, smb: &SmbShared, conn: &mut SmbConnection, frame: Bytes) -> Flow {
    let Some((sid, key)) = seal::transform_key(smb, conn.id, &frame) else { return Flow::Close };
    let op = conn.next_op;
    conn.next_op += 1;
    let token = crate::id::WaitToken { conn: conn.id, op };
    let transform = std::sync::Arc::new(seal::Unseal { key });
    core.submit_io(token, crate::io::IoOp::Decrypt { transform, message: frame });
    conn.unsealing.insert(op, sid);
    Flow::Continue
}

/// A worker decrypted a large TRANSFORM message: the message inside is
/// handled as if it had been decrypted inline; one that did not decrypt,
/// or whose session went away meanwhile, closes the connection.
fn unsealed(core: &mut Core, smb: &mut SmbShared, conn: &mut SmbConnection, op: u64, sid: u64, now: Instant) -> Flow {
    let token = crate::id::WaitToken { conn: conn.id, op };
    match core.io.take_result(token) {
        Some(IoResult::Decrypted(Some(plain))) if smb.session(conn.id, sid).is_some() => {
            handle_message(core, smb, conn, plain, Some(sid), now)
        }
        _ => {
            tracing::info!(conn = conn.id.0, "undecryptable message; closing");
            Flow::Close
        }
    }
}

/// One SMB2 message or compound, as received or as decrypted from a
/// TRANSFORM message of session `encrypted`.
fn handle_message(
    core: &mut Core,
    smb: &mut SmbShared,
    conn: &mut SmbConnection,
    frame: Bytes,
    encrypted: Option<u64>,
    now: Instant,
) -> Flow {
    handle_message_with(core, smb, conn, frame, encrypted, None, now)
}

/// [`handle_message`], with the data of a lone WRITE that came in pipes.
fn handle_message_with(
    core: &mut Core,
    smb: &mut SmbShared,
    conn: &mut SmbConnection,
    frame: Bytes,
    encrypted: Option<u64>,
    mut payload: Option<PipedData>,
    now: Instant,
) -> Flow {
    if frame.get(..4) != Some(&PROTOCOL_ID[..]) {
        tracing::info!(conn = conn.id.0, "not an SMB2 message; closing");
        return Flow::Close;
    }
    let mut out: Vec<Element> = Vec::new();
    let mut chain = Chain { first: true, encrypted, ..Chain::default() };
    let mut off = 0usize;
    loop {
        let Some(rest) = frame.get(off..) else { return Flow::Close };
        let Ok(hdr) = Header::decode(rest) else { return Flow::Close };
        let Some(len) = compound_element_len(hdr.next_command, rest.len()) else { return Flow::Close };
        if encrypted.is_some_and(|sid| !inside_transform(&hdr, off == 0, sid)) {
            flush(core, smb, conn, out);
            return Flow::Close;
        }
        let msg = frame.slice(off..off + len);
        match process(core, smb, conn, hdr, msg, payload.take(), &mut chain, now) {
            Step::Reply(e) => out.push(e),
            Step::Parked(e, op) => {
                out.push(e);
                if hdr.next_command != 0 {
                    match defer_related(core, smb, conn, &frame, off + len, op, encrypted, &mut out) {
                        Deferred::All => break,
                        Deferred::Upto(next) => {
                            off = next;
                            chain = Chain { encrypted, ..Chain::default() };
                            continue;
                        }
                        Deferred::Close => {
                            flush(core, smb, conn, out);
                            return Flow::Close;
                        }
                    }
                }
            }
            Step::Nothing => {}
            Step::Close => {
                flush(core, smb, conn, out);
                return Flow::Close;
            }
        }
        chain.first = false;
        if hdr.next_command == 0 {
            break;
        }
        off += len;
    }
    flush(core, smb, conn, out);
    Flow::Continue
}

/// MS-SMB2 3.3.5.2.1.1: the first message inside a TRANSFORM is not
/// related and belongs to the transform's session; a later one is related
/// or belongs to it too.
fn inside_transform(hdr: &Header, first: bool, sid: u64) -> bool {
    let related = hdr.flags & FLAG_RELATED != 0;
    match first {
        true => !related && hdr.session_id == sid,
        false => related || hdr.session_id == sid,
    }
}

enum Step {
    Reply(Element),
    /// Went async under this op: the element is its interim response.
    Parked(Element, u64),
    Nothing,
    Close,
}

enum Deferred {
    /// Every remaining element followed the parked one.
    All,
    /// An unrelated element starts at this offset: process it normally.
    Upto(usize),
    Close,
}

/// MS-SMB2 3.3.5.2.7.2: the related elements after one that went async
/// depend on it, so they go async too: each gets an interim response now and
/// runs, in order, when the parked element completes ([`resume`]).
#[allow(clippy::too_many_arguments)]
fn defer_related(
    core: &mut Core,
    smb: &mut SmbShared,
    conn: &mut SmbConnection,
    frame: &Bytes,
    mut off: usize,
    op: u64,
    encrypted: Option<u64>,
    out: &mut Vec<Element>,
) -> Deferred {
    loop {
        let Some(rest) = frame.get(off..) else { return Deferred::Close };
        let Ok(hdr) = Header::decode(rest) else { return Deferred::Close };
        if hdr.flags & FLAG_RELATED == 0 {
            return Deferred::Upto(off);
        }
        let Some(len) = compound_element_len(hdr.next_command, rest.len()) else { return Deferred::Close };
        if hdr.flags & FLAG_SERVER_TO_REDIR != 0 || hdr.command == command::NEGOTIATE {
            return Deferred::Close;
        }
        let charge = if conn.large_mtu() { hdr.credit_charge } else { 1 };
        if !conn.credits.consume(hdr.message_id, charge) {
            return Deferred::Close;
        }
        let granted = conn.credits.grant(hdr.credits, core.config.smb.max_credits);
        let async_id = conn.next_async_id;
        conn.next_async_id += 1;
        let mut stored = hdr;
        stored.flags |= FLAG_ASYNC;
        stored.async_id = async_id;
        let msg = frame.slice(off..off + len);
        core.request_begun(conn.id, hdr.message_id, usize::from(hdr.command));
        match conn.pending.get_mut(&op) {
            Some(p) => p.followers.push(Follower { async_id, header: stored, msg, encrypted }),
            None => return Deferred::Close,
        }
        let interim = Header {
            credit_charge: hdr.credit_charge,
            status: status::PENDING,
            command: hdr.command,
            credits: granted,
            flags: FLAG_SERVER_TO_REDIR | FLAG_ASYNC | FLAG_RELATED,
            next_command: 0,
            message_id: hdr.message_id,
            async_id,
            tree_id: 0,
            session_id: hdr.session_id,
            signature: [0; 16],
        };
        let seal = response_seal(smb, conn.id, encrypted, hdr.command, hdr.session_id, hdr.tree_id);
        let body = to_vec(encode_error_response);
        out.push(Element { header: interim, body, sign: None, preauth: PreauthTarget::None, seal });
        if hdr.next_command == 0 {
            return Deferred::All;
        }
        off += len;
    }
}

#[allow(clippy::too_many_arguments)]
fn process(
    core: &mut Core,
    smb: &mut SmbShared,
    conn: &mut SmbConnection,
    hdr: Header,
    msg: Bytes,
    payload: Option<PipedData>,
    chain: &mut Chain,
    now: Instant,
) -> Step {
    let (first, encrypted) = (chain.first, chain.encrypted);
    if hdr.flags & FLAG_SERVER_TO_REDIR != 0 {
        return Step::Close;
    }
    if let Some(n) = core.stats.smb_requests.get_mut(usize::from(hdr.command)) {
        *n += 1;
    }
    if hdr.command == command::CANCEL {
        handlers::misc::cancel(core, smb, conn, &hdr, now);
        return Step::Nothing;
    }
    core.request_begun(conn.id, hdr.message_id, usize::from(hdr.command));
    match (conn.state, hdr.command) {
        (NegotiateState::Done, command::NEGOTIATE) => return Step::Close,
        (NegotiateState::Done, _) | (_, command::NEGOTIATE) => {}
        _ => return Step::Close,
    }
    let charge = if conn.large_mtu() { hdr.credit_charge } else { 1 };
    if !conn.credits.consume(hdr.message_id, charge) {
        tracing::info!(conn = conn.id.0, mid = hdr.message_id, "MessageId outside the credit window; closing");
        return Step::Close;
    }
    let granted = conn.credits.grant(hdr.credits, core.config.smb.max_credits);

    let mut eff = hdr;
    let related = hdr.flags & FLAG_RELATED != 0;
    let mut chain_status = status::SUCCESS;
    if related {
        if first {
            chain_status = status::INVALID_PARAMETER;
        } else {
            eff.session_id = chain.session_id;
            eff.tree_id = chain.tree_id;
            if status::is_error(chain.status) {
                chain_status = chain.status;
            }
        }
    }
    let mut cx = Ctx::new(core, smb, conn, eff, msg, now);
    cx.payload = payload;
    cx.chain_file = if related && !first { chain.file_id } else { None };
    cx.io_allowed = first && hdr.next_command == 0;
    cx.encrypted = encrypted;
    if chain_status == status::SUCCESS && cx.io_allowed && encrypted.is_none() && verify_off_core(&mut cx, &hdr, granted)
    {
        return Step::Nothing;
    }
    let result = if chain_status != status::SUCCESS {
        Err(chain_status)
    } else {
        match check_protection(&mut cx, &hdr) {
            Ok(()) => handlers::dispatch_command(&mut cx),
            Err(s) => Err(s),
        }
    };
    let (status, body) = match result {
        Ok(Outcome::Reply { status, body }) => (status, body),
        Ok(Outcome::NoReply) => {
            cx.core.times.forget(cx.conn.id, hdr.message_id);
            return Step::Nothing;
        }
        Ok(Outcome::Io) => {
            if let (Some(op), Some(kind)) = (cx.op, cx.io_wait) {
                let w = IoWait { header: hdr, credits: granted, kind, msg: None, encrypted };
                attach_read_finisher(&mut cx, op, &w);
                cx.conn.io_wait.insert(op, w);
            }
            return Step::Nothing;
        }
        Ok(Outcome::Disconnect) => return Step::Close,
        Ok(Outcome::Pending) => return go_async(cx, hdr, granted),
        // A handler parked under a lease break (smb::lease::begin).
        Err(status::PENDING) => return go_async(cx, hdr, granted),
        Err(s) => (s, to_vec(encode_error_response)),
    };
    chain.session_id = cx.resp_session.unwrap_or(eff.session_id);
    chain.tree_id = cx.resp_tree.unwrap_or(eff.tree_id);
    chain.file_id = cx.used_file.or(cx.chain_file);
    chain.status = status;
    let mut rh = response_header(&hdr, &cx, status, granted);
    if related {
        rh.flags |= FLAG_RELATED;
    }
    let sign = signing_for(&cx, &hdr, rh.session_id, status);
    let seal = sealing_for(&mut cx, &rh);
    Step::Reply(Element { header: rh, body, sign, preauth: cx.preauth, seal })
}

/// The seal of a response (MS-SMB2 3.3.4.1.4); LOGOFF's comes from the
/// session it removed.
fn sealing_for(cx: &mut Ctx<'_>, rh: &Header) -> Option<Seal> {
    if let Some(seal) = cx.seal_override.take() {
        return Some(seal);
    }
    response_seal(cx.smb, cx.conn.id, cx.encrypted, rh.command, rh.session_id, rh.tree_id)
}

fn response_header(req: &Header, cx: &Ctx<'_>, status: u32, credits: u16) -> Header {
    let tree_id = cx.resp_tree.unwrap_or(cx.hdr.tree_id);
    let session_id = cx.resp_session.unwrap_or(cx.hdr.session_id);
    reply_header(req, tree_id, session_id, status, credits)
}

/// A synchronous response header to `req`.
fn reply_header(req: &Header, tree_id: u32, session_id: u64, status: u32, credits: u16) -> Header {
    Header {
        credit_charge: req.credit_charge,
        status,
        command: req.command,
        credits,
        flags: FLAG_SERVER_TO_REDIR,
        next_command: 0,
        message_id: req.message_id,
        async_id: 0,
        tree_id,
        session_id,
        signature: [0; 16],
    }
}

/// Signed messages at least this large have their signature checked on a
/// storage worker rather than on the core's thread.
const VERIFY_OFF_CORE: usize = 64 * 1024;

/// A large signed lone WRITE: its signature is checked on a worker before
/// anything else is done with it ([`verified`] goes on from there).
fn verify_off_core(cx: &mut Ctx<'_>, hdr: &Header, granted: u16) -> bool {
    if hdr.command != command::WRITE || !hdr.is_signed() || cx.msg.len() < VERIFY_OFF_CORE {
        return false;
    }
    let algorithm = cx.conn.signing;
    let Some(key) = cx.smb.sessions.get(&hdr.session_id).and_then(|s| s.channel_key(cx.conn.id)) else { return false };
    let op = cx.op_id();
    let token = crate::id::WaitToken { conn: cx.conn.id, op };
    let check = std::sync::Arc::new(crate::smb::signing::SignatureCheck { algorithm, key });
    cx.core.submit_io(token, crate::io::IoOp::VerifySignature { check, message: cx.msg.clone() });
    let w = IoWait { header: *hdr, credits: granted, kind: IoKind::Verify, msg: Some(cx.msg.clone()), encrypted: None };
    cx.conn.io_wait.insert(op, w);
    true
}

/// A request decrypted from a TRANSFORM message needs no signature
/// (3.3.5.2.4 is skipped); one that came in the clear is refused with
/// ACCESS_DENIED where its session (3.3.5.2.9, a re-authenticating
/// SESSION_SETUP included) or its tree's share (3.3.5.2.11) requires
/// encryption, and otherwise checked for its signature.
fn check_protection(cx: &mut Ctx<'_>, hdr: &Header) -> Result<(), u32> {
    if cx.encrypted.is_some() {
        return Ok(());
    }
    let (sid, tid) = (cx.hdr.session_id, cx.hdr.tree_id);
    if let Some(session) = cx.smb.session(cx.conn.id, sid).filter(|s| s.valid) {
        let refused = match hdr.command {
            command::NEGOTIATE => false,
            // A re-authentication of an encrypted session in the clear
            // would put its new credentials on the wire unprotected:
            // refused as any other request of the session (as smbd does;
            // the session goes on).
            command::SESSION_SETUP | command::TREE_CONNECT | command::LOGOFF | command::ECHO => session.encrypt_data,
            _ => seal::requires_encryption(session, tid),
        };
        if refused {
            tracing::info!(conn = cx.conn.id.0, session = sid, "unencrypted request refused");
            return Err(status::ACCESS_DENIED);
        }
    }
    check_signature(cx, hdr)
}

/// MS-SMB2 3.3.5.2.4: a signed request must verify with its session's
/// key; a session that requires signing refuses unsigned requests. This
/// holds for SESSION_SETUP on an existing session too (a re-authentication
/// cannot strip signing): one refused here fails, and logs its session off
/// as a failed re-authentication does (3.3.5.5.3).
fn check_signature(cx: &mut Ctx<'_>, hdr: &Header) -> Result<(), u32> {
    if hdr.command == command::NEGOTIATE {
        return if hdr.is_signed() { Err(status::INVALID_PARAMETER) } else { Ok(()) };
    }
    let sid = cx.hdr.session_id;
    // A binding SESSION_SETUP comes on a connection that is not yet a
    // channel: its handler checks it with Session.SigningKey (3.3.5.5). On
    // one that already is, it is checked with the channel's key as any
    // request is.
    let binding = hdr.command == command::SESSION_SETUP && crate::smb::wire::session_setup::is_binding(&cx.msg);
    if binding && cx.smb.session(cx.conn.id, sid).is_none() {
        return Ok(());
    }
    let result = match cx.smb.session(cx.conn.id, sid) {
        None if hdr.is_signed() => Err(status::USER_SESSION_DELETED),
        None => Ok(()),
        Some(session) => match (hdr.is_signed(), session.channel_key(cx.conn.id)) {
            (true, Some(key)) if signing::verify(cx.conn.signing, &key, &cx.msg) => Ok(()),
            (true, Some(_)) => {
                tracing::info!(conn = cx.conn.id.0, "bad signature");
                Err(status::ACCESS_DENIED)
            }
            (true, None) => Err(status::NOT_SUPPORTED),
            (false, _) if session.signing_required && session.valid => Err(status::ACCESS_DENIED),
            (false, _) => Ok(()),
        },
    };
    // A channel of a session bound to others cannot end it this way: only
    // the request fails (smbtorture smb2.session.bind_negative_*, as smbd).
    let alone = cx.smb.session(cx.conn.id, sid).is_some_and(|s| s.channels.len() == 1);
    if result.is_err() && hdr.command == command::SESSION_SETUP && alone {
        tracing::info!(conn = cx.conn.id.0, session = sid, "session setup refused by signing; logging off");
        log_off(cx.core, cx.smb, sid, cx.now);
    }
    result
}

fn signing_for(
    cx: &Ctx<'_>,
    req: &Header,
    session_id: u64,
    status: u32,
) -> Option<(signing::SigningAlgorithm, [u8; 16])> {
    if status == status::PENDING {
        return None;
    }
    // LOGOFF (the session is gone) and binding (3.3.5.5.3: an interim
    // response too) name their key.
    if let Some(sign) = cx.sign_override {
        return Some(sign);
    }
    if status == status::MORE_PROCESSING_REQUIRED {
        return None;
    }
    session_signing(cx.smb, cx.conn, req, session_id, cx.force_sign)
}

/// Sends an interim STATUS_PENDING response and parks the request.
fn go_async(mut cx: Ctx<'_>, hdr: Header, granted: u16) -> Step {
    let Some(op) = cx.op else {
        let rh = Header { status: status::INTERNAL_ERROR, ..response_header(&hdr, &cx, 0, granted) };
        let seal = sealing_for(&mut cx, &rh);
        return Step::Reply(Element {
            header: rh,
            body: to_vec(encode_error_response),
            sign: None,
            preauth: PreauthTarget::None,
            seal,
        });
    };
    // Outstanding async operations per connection are bounded
    // (limits.max_outstanding_per_conn): beyond it the request fails.
    if cx.conn.pending.len() >= cx.core.config.limits.max_outstanding_per_conn {
        cx.core.leases.cancel_waiter(crate::id::WaitToken { conn: cx.conn.id, op });
        cx.core.io.cancel_waiter(crate::id::WaitToken { conn: cx.conn.id, op });
        tracing::info!(conn = cx.conn.id.0, "too many outstanding async operations");
        let rh = Header { status: status::INSUFFICIENT_RESOURCES, ..response_header(&hdr, &cx, 0, granted) };
        let sign = signing_for(&cx, &hdr, rh.session_id, status::INSUFFICIENT_RESOURCES);
        let seal = sealing_for(&mut cx, &rh);
        let body = to_vec(encode_error_response);
        return Step::Reply(Element { header: rh, body, sign, preauth: PreauthTarget::None, seal });
    }
    let async_id = cx.conn.next_async_id;
    cx.conn.next_async_id += 1;
    let mut stored = cx.hdr;
    stored.flags |= FLAG_ASYNC;
    stored.async_id = async_id;
    stored.message_id = hdr.message_id;
    let (msg, encrypted, payload) = (cx.msg.clone(), cx.encrypted, cx.payload.take());
    cx.conn.pending.insert(op, Pending { async_id, header: stored, msg, followers: Vec::new(), encrypted, payload });
    let mut rh = response_header(&hdr, &cx, status::PENDING, granted);
    rh.flags |= FLAG_ASYNC;
    if hdr.flags & FLAG_RELATED != 0 {
        rh.flags |= FLAG_RELATED;
    }
    rh.async_id = async_id;
    let seal = sealing_for(&mut cx, &rh);
    let body = to_vec(encode_error_response);
    Step::Parked(Element { header: rh, body, sign: None, preauth: PreauthTarget::None, seal }, op)
}

/// Re-runs a parked request (MS-SMB2 3.3.4.2: the final response keeps ASYNC
/// and the AsyncId and grants no credits), then the related elements that
/// waited for it, compounding all their final responses.
pub(crate) fn resume(core: &mut Core, smb: &mut SmbShared, conn: &mut SmbConnection, op: u64, now: Instant) -> Flow {
    if let Some(sid) = conn.unsealing.remove(&op) {
        return unsealed(core, smb, conn, op, sid, now);
    }
    if let Some(w) = conn.io_wait.remove(&op) {
        io_done(core, smb, conn, op, w, now);
        return Flow::Continue;
    }
    let Some(mut p) = conn.pending.remove(&op) else { return Flow::Continue };
    let mut cx = Ctx::new(core, smb, conn, p.header, p.msg.clone(), now);
    cx.async_id = Some(p.async_id);
    cx.op = Some(op);
    cx.encrypted = p.encrypted;
    cx.payload = p.payload.take();
    let (status, body) = match handlers::dispatch_command(&mut cx) {
        Ok(Outcome::Reply { status, body }) => (status, body),
        Ok(Outcome::NoReply) => {
            cx.core.times.forget(cx.conn.id, p.header.message_id);
            return Flow::Continue;
        }
        // Resumed requests run their storage inline (io_allowed is false).
        Ok(Outcome::Io) => (status::INTERNAL_ERROR, to_vec(encode_error_response)),
        Ok(Outcome::Disconnect) => return Flow::Close,
        Ok(Outcome::Pending) | Err(status::PENDING) => {
            p.payload = cx.payload.take();
            cx.conn.pending.insert(op, p);
            return Flow::Continue;
        }
        Err(s) => (s, to_vec(encode_error_response)),
    };
    let mut rh = response_header(&p.header, &cx, status, 0);
    rh.flags |= FLAG_ASYNC | (p.header.flags & FLAG_RELATED);
    rh.async_id = p.async_id;
    let sign = signing_for(&cx, &p.header, rh.session_id, status);
    let seal = sealing_for(&mut cx, &rh);
    let mut chain = Chain {
        first: false,
        session_id: rh.session_id,
        tree_id: cx.resp_tree.unwrap_or(cx.hdr.tree_id),
        file_id: cx.used_file.or(cx.chain_file),
        status,
        encrypted: p.encrypted,
    };
    let mut out = vec![Element { header: rh, body, sign, preauth: PreauthTarget::None, seal }];
    let mut followers = std::mem::take(&mut p.followers).into_iter();
    while let Some(f) = followers.next() {
        match run_follower(core, smb, conn, &f, &mut chain, now) {
            Some(e) => out.push(e),
            // It parked in turn: the rest now wait for it.
            None => {
                if let Some(q) = pending_by_async_id(conn, f.async_id) {
                    q.followers.extend(followers);
                }
                break;
            }
        }
    }
    flush(core, smb, conn, out);
    Flow::Continue
}

/// The pending entry a follower that parked in turn was stored under.
fn pending_by_async_id(conn: &mut SmbConnection, async_id: u64) -> Option<&mut Pending> {
    conn.pending.values_mut().find(|p| p.async_id == async_id)
}

/// Runs one related element after the one before it completed; `None` when
/// it went async itself (it is then pending under its own op, keeping its
/// AsyncId).
fn run_follower(
    core: &mut Core,
    smb: &mut SmbShared,
    conn: &mut SmbConnection,
    f: &Follower,
    chain: &mut Chain,
    now: Instant,
) -> Option<Element> {
    let mut eff = f.header;
    eff.session_id = chain.session_id;
    eff.tree_id = chain.tree_id;
    let mut cx = Ctx::new(core, smb, conn, eff, f.msg.clone(), now);
    cx.chain_file = chain.file_id;
    cx.async_id = Some(f.async_id);
    cx.encrypted = f.encrypted;
    let result = if status::is_error(chain.status) {
        Err(chain.status)
    } else {
        match check_protection(&mut cx, &f.header) {
            Ok(()) => handlers::dispatch_command(&mut cx),
            Err(s) => Err(s),
        }
    };
    let (status, body) = match result {
        Ok(Outcome::Reply { status, body }) => (status, body),
        Ok(Outcome::Pending) | Err(status::PENDING) => {
            let op = cx.op?;
            let followers = Vec::new();
            cx.conn
                .pending
                .insert(op, Pending {
                    async_id: f.async_id,
                    header: f.header,
                    msg: f.msg.clone(),
                    followers,
                    encrypted: f.encrypted,
                    payload: None,
                });
            return None;
        }
        Ok(Outcome::NoReply) | Ok(Outcome::Disconnect) | Ok(Outcome::Io) => {
            (status::INTERNAL_ERROR, to_vec(encode_error_response))
        }
        Err(s) => (s, to_vec(encode_error_response)),
    };
    chain.session_id = cx.resp_session.unwrap_or(eff.session_id);
    chain.tree_id = cx.resp_tree.unwrap_or(eff.tree_id);
    chain.file_id = cx.used_file.or(cx.chain_file);
    chain.status = status;
    let mut rh = response_header(&f.header, &cx, status, 0);
    rh.flags |= FLAG_ASYNC | FLAG_RELATED;
    rh.async_id = f.async_id;
    let sign = signing_for(&cx, &f.header, rh.session_id, status);
    let seal = sealing_for(&mut cx, &rh);
    Some(Element { header: rh, body, sign, preauth: PreauthTarget::None, seal })
}

/// The storage request of a lone READ, WRITE or FLUSH completed: its reply
/// goes out now. A successful READ's reply is built around the data in the
/// pooled buffer the storage read filled (headers written into its
/// headroom, signed in place) and sent as one slice of it, without a copy.
fn io_done(core: &mut Core, smb: &mut SmbShared, conn: &mut SmbConnection, op: u64, w: IoWait, now: Instant) {
    let token = crate::id::WaitToken { conn: conn.id, op };
    let Some(result) = core.io.take_result(token) else { return };
    if let IoResult::Verified(ok) = result {
        return verified(core, smb, conn, op, w, ok, now);
    }
    let outcome = handlers::read_write::io_done(smb, conn.id, w.header.session_id, w.header.tree_id, w.kind, result);
    let (status, body) = match outcome {
        Ok(handlers::read_write::IoReply::Body(body)) => (status::SUCCESS, body),
        Ok(handlers::read_write::IoReply::Status(status, body)) => (status, body),
        Ok(handlers::read_write::IoReply::Data(rd)) => {
            match rd.into_framed() {
                Ok(reply) => core.framed_reply_done(conn.id, Protocol::Smb, w.header.message_id, reply),
                Err(_) => {
                    let e = error_element(smb, conn, &w, status::INTERNAL_ERROR);
                    flush(core, smb, conn, vec![e]);
                }
            }
            return;
        }
        Err(s) => (s, to_vec(encode_error_response)),
    };
    let rh = Header { status, ..io_response_header(&w) };
    let sign = io_signing(smb, conn, &w.header, status);
    let seal = io_seal(smb, conn, &w);
    flush(core, smb, conn, vec![Element { header: rh, body, sign, preauth: PreauthTarget::None, seal }]);
}

/// The signature of a large signed request was checked on a worker: a bad
/// one is refused (MS-SMB2 3.3.5.2.4), a good one runs now, exactly as it
/// would have had the check been made inline.
fn verified(
    core: &mut Core,
    smb: &mut SmbShared,
    conn: &mut SmbConnection,
    op: u64,
    w: IoWait,
    ok: bool,
    now: Instant,
) {
    if !ok {
        tracing::info!(conn = conn.id.0, "bad signature");
        let e = error_element(smb, conn, &w, status::ACCESS_DENIED);
        return flush(core, smb, conn, vec![e]);
    }
    let Some(msg) = w.msg.clone() else { return };
    let mut cx = Ctx::new(core, smb, conn, w.header, msg, now);
    cx.io_allowed = true;
    cx.op = Some(op);
    cx.encrypted = w.encrypted;
    let (status, body) = match handlers::dispatch_command(&mut cx) {
        Ok(Outcome::Reply { status, body }) => (status, body),
        Ok(Outcome::Io) => {
            if let Some(kind) = cx.io_wait {
                let next = IoWait { kind, msg: None, ..w };
                attach_read_finisher(&mut cx, op, &next);
                cx.conn.io_wait.insert(op, next);
            }
            return;
        }
        Ok(Outcome::NoReply) => {
            cx.core.times.forget(cx.conn.id, w.header.message_id);
            return;
        }
        Ok(Outcome::Disconnect) => {
            cx.core.close_requests.push(cx.conn.id);
            return;
        }
        // Only lone READ/WRITE/FLUSH are checked this way; they do not park
        // behind breaks here (a parked request went async before its check).
        Ok(Outcome::Pending) | Err(status::PENDING) => (status::INTERNAL_ERROR, to_vec(encode_error_response)),
        Err(s) => (s, to_vec(encode_error_response)),
    };
    let rh = Header { status, ..io_response_header(&w) };
    let sign = io_signing(smb, conn, &w.header, status);
    let seal = io_seal(smb, conn, &w);
    flush(core, smb, conn, vec![Element { header: rh, body, sign, preauth: PreauthTarget::None, seal }]);
}

/// The seal of the reply to a request that waited for storage.
fn io_seal(smb: &mut SmbShared, conn: &SmbConnection, w: &IoWait) -> Option<Seal> {
    response_seal(smb, conn.id, w.encrypted, w.header.command, w.header.session_id, w.header.tree_id)
}

/// A lone READ's reply is framed and signed by the worker that reads it.
fn attach_read_finisher(cx: &mut Ctx<'_>, op: u64, w: &IoWait) {
    let IoKind::Read { minimum, .. } = w.kind else { return };
    let rh = Header { status: status::SUCCESS, ..io_response_header(w) };
    let sign = io_signing(cx.smb, cx.conn, &w.header, status::SUCCESS);
    // Sealed on the worker like the signature: the AES runs off the core.
    let seal = io_seal(cx.smb, cx.conn, w);
    let token = crate::id::WaitToken { conn: cx.conn.id, op };
    // MS-SMB2 3.3.5.12: nothing, or less than MinimumCount, is
    // END_OF_FILE, answered by the core.
    let short = move |len: usize| len == 0 || (len as u64) < u64::from(minimum);
    // A reply that is neither signed nor sealed does not depend on the
    // data, which may then be spliced.
    let head: Option<crate::io::ReadHead> = (sign.is_none() && seal.is_none()).then(|| {
        Box::new(move |len: usize, _eof: bool| {
            if short(len) {
                return None;
            }
            handlers::read_write::read_reply_head(len, 0, &rh).map(|h| (h, 0usize))
        }) as crate::io::ReadHead
    });
    cx.core.io.attach_finisher(
        token,
        Box::new(move |buf, len, _eof| {
            if short(len) {
                return None;
            }
            handlers::read_write::frame_read_reply(buf, len, &rh, sign, seal.as_ref())
        }),
        head,
    );
}

fn io_response_header(w: &IoWait) -> Header {
    reply_header(&w.header, w.header.tree_id, w.header.session_id, status::SUCCESS, w.credits)
}

fn error_element(smb: &mut SmbShared, conn: &SmbConnection, w: &IoWait, status: u32) -> Element {
    let rh = Header { status, ..io_response_header(w) };
    Element {
        header: rh,
        body: to_vec(encode_error_response),
        sign: io_signing(smb, conn, &w.header, status),
        preauth: PreauthTarget::None,
        seal: io_seal(smb, conn, w),
    }
}

/// The key a reply to `req` is signed with (MS-SMB2 3.3.4.1.1), if any.
fn io_signing(
    smb: &SmbShared,
    conn: &SmbConnection,
    req: &Header,
    status: u32,
) -> Option<(signing::SigningAlgorithm, [u8; 16])> {
    if status == status::PENDING {
        return None;
    }
    session_signing(smb, conn, req, req.session_id, false)
}
