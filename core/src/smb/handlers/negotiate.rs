//! NEGOTIATE (MS-SMB2 3.3.5.3, 3.3.5.4), including the SMB1 multi-protocol
//! NEGOTIATE a client may open with.

use std::time::Instant;

use crate::common::Core;
use crate::smb::SmbShared;
use crate::smb::auth;
use crate::smb::cipher::Cipher;
use crate::smb::conn::{NegotiateState, SmbConnection};
use crate::smb::ctx::{Ctx, HandlerResult, PreauthTarget, ok_with};
use crate::smb::preauth::PreauthHash;
use crate::smb::signing::SigningAlgorithm;
use crate::smb::status;
use crate::smb::wire::header::{FLAG_SERVER_TO_REDIR, Header, command};
use crate::smb::wire::negotiate::*;
use crate::smb::wire::smb1;

/// Dialects we implement, best first.
pub const DIALECTS: [u16; 5] = [DIALECT_311, DIALECT_302, DIALECT_300, DIALECT_210, DIALECT_202];

fn server_security_mode(core: &Core) -> u16 {
    SIGNING_ENABLED | if core.config.smb.require_signing { SIGNING_REQUIRED } else { 0 }
}

/// MS-SMB2 3.3.5.4: leasing from 2.1; directory leasing only on 3.x, when
/// the client asked for it and the server breaks directory leases
/// (`SmbConfig::directory_leasing`).
fn capabilities(dialect: u16, directory_leasing: bool, multichannel: bool) -> u32 {
    let dir = match directory_leasing && dialect >= DIALECT_300 {
        true => CAP_DIRECTORY_LEASING,
        false => 0,
    };
    // 3.3.5.4: MULTI_CHANNEL on 3.x when IsMultiChannelCapable.
    let multi = match multichannel && dialect >= DIALECT_300 {
        true => CAP_MULTI_CHANNEL,
        false => 0,
    };
    match dialect >= DIALECT_210 {
        true => CAP_LEASING | CAP_LARGE_MTU | dir | multi,
        false => 0,
    }
}

fn response(
    core: &mut Core,
    smb: &mut SmbShared,
    conn: &SmbConnection,
    dialect: u16,
    now: Instant,
) -> NegotiateResponse {
    let cfg = &core.config.smb;
    let limit = |v: u32| negotiated_size(dialect, v);
    NegotiateResponse {
        security_mode: server_security_mode(core),
        dialect,
        server_guid: smb.server_guid,
        capabilities: conn.server_capabilities,
        max_transact: limit(cfg.max_transact_size),
        max_read: limit(cfg.max_read_size),
        max_write: limit(cfg.max_write_size),
        system_time: core.wall(now).to_filetime(),
        security_buffer: auth::negotiate_token(),
        contexts: Vec::new(),
    }
}

/// The first cipher of the client's list the server implements (all four
/// are): the client's order of preference decides (MS-SMB2 3.3.5.4).
fn choose_cipher(ids: &[u16]) -> Option<Cipher> {
    ids.iter().find_map(|id| Cipher::from_id(*id))
}

/// The MaxTransactSize, MaxReadSize or MaxWriteSize a connection of
/// `dialect` gets for the configured `size`: at most 64 KiB for SMB 2.0.2
/// (no multi-credit requests), at least 1 MiB from 2.1 on.
pub(crate) fn negotiated_size(dialect: u16, size: u32) -> u32 {
    match dialect {
        DIALECT_202 | DIALECT_WILDCARD => size.clamp(1, 65_536),
        _ => size.max(1024 * 1024),
    }
}

/// MS-SMB2 3.3.5.3.1: answers an SMB1 NEGOTIATE with an SMB2 NEGOTIATE
/// response. Returns the message to send, or None to disconnect.
pub fn smb1_negotiate(
    core: &mut Core,
    smb: &mut SmbShared,
    conn: &mut SmbConnection,
    frame: &[u8],
    now: Instant,
) -> Option<Vec<u8>> {
    let d = smb1::decode_negotiate(frame).ok()?;
    let dialect = match (d.smb2_wildcard, d.smb2_002) {
        (true, _) => DIALECT_WILDCARD,
        (false, true) => DIALECT_202,
        _ => return None,
    };
    if !conn.credits.consume(0, 1) {
        return None;
    }
    let credits = conn.credits.grant(1, core.config.smb.max_credits);
    conn.server_security_mode = server_security_mode(core);
    conn.server_capabilities = capabilities(dialect, false, false);
    match dialect {
        DIALECT_202 => {
            conn.state = NegotiateState::Done;
            conn.dialect = DIALECT_202;
            conn.client_dialects = vec![DIALECT_202];
            conn.signing = SigningAlgorithm::HmacSha256;
        }
        _ => conn.state = NegotiateState::Wildcard,
    }
    let hdr = Header { command: command::NEGOTIATE, credits, flags: FLAG_SERVER_TO_REDIR, ..Default::default() };
    let mut out = Vec::new();
    hdr.encode(&mut out);
    response(core, smb, conn, dialect, now).encode(&mut out);
    Some(out)
}

/// MS-SMB2 3.3.5.4.
pub fn negotiate(cx: &mut Ctx<'_>) -> HandlerResult {
    let req = NegotiateRequest::decode(&cx.msg).map_err(|_| status::INVALID_PARAMETER)?;
    let dialect = DIALECTS.iter().copied().find(|d| req.dialects.contains(d)).ok_or(status::NOT_SUPPORTED)?;
    let mut contexts = Vec::new();
    // 3.3.5.4: 3.0 and 3.0.2 encrypt with AES-128-CCM when the client can.
    let mut cipher = match dialect {
        DIALECT_300 | DIALECT_302 if req.capabilities & CAP_ENCRYPTION != 0 => Some(Cipher::Aes128Ccm),
        _ => None,
    };
    let mut signing = match dialect {
        DIALECT_202 | DIALECT_210 => SigningAlgorithm::HmacSha256,
        _ => SigningAlgorithm::AesCmac,
    };
    if dialect == DIALECT_311 {
        let pre = req.context(PREAUTH_INTEGRITY_CAPABILITIES).ok_or(status::INVALID_PARAMETER)?;
        let algs = preauth_hash_algorithms(&pre.data).map_err(|_| status::INVALID_PARAMETER)?;
        if !algs.contains(&HASH_SHA512) {
            return Err(status::NO_PREAUTH_INTEGRITY_HASH_OVERLAP);
        }
        let mut data = vec![1, 0, 32, 0];
        data.extend_from_slice(&HASH_SHA512.to_le_bytes());
        data.extend_from_slice(&cx.core.rng.bytes::<32>());
        contexts.push(NegotiateContext { context_type: PREAUTH_INTEGRITY_CAPABILITIES, data });
        if let Some(sc) = req.context(SIGNING_CAPABILITIES) {
            let algs = signing_algorithms(&sc.data).map_err(|_| status::INVALID_PARAMETER)?;
            let (id, algo) = if algs.contains(&SIGN_AES_GMAC) {
                (SIGN_AES_GMAC, SigningAlgorithm::AesGmac)
            } else if algs.contains(&SIGN_AES_CMAC) {
                (SIGN_AES_CMAC, SigningAlgorithm::AesCmac)
            } else {
                (SIGN_HMAC_SHA256, SigningAlgorithm::HmacSha256)
            };
            signing = algo;
            let mut data = vec![1, 0];
            data.extend_from_slice(&id.to_le_bytes());
            contexts.push(NegotiateContext { context_type: SIGNING_CAPABILITIES, data });
        }
        if let Some(ec) = req.context(ENCRYPTION_CAPABILITIES) {
            let ids = encryption_ciphers(&ec.data).map_err(|_| status::INVALID_PARAMETER)?;
            cipher = choose_cipher(&ids);
            // 3.3.5.4: one cipher, or 0 when none is shared.
            let mut data = vec![1, 0];
            data.extend_from_slice(&cipher.map_or(0, Cipher::id).to_le_bytes());
            contexts.push(NegotiateContext { context_type: ENCRYPTION_CAPABILITIES, data });
        }
        let mut p = PreauthHash::new();
        p.update(&cx.msg);
        cx.conn.preauth = Some(p);
        cx.preauth = PreauthTarget::Connection;
    }
    let conn = &mut *cx.conn;
    conn.state = NegotiateState::Done;
    conn.dialect = dialect;
    conn.signing = signing;
    conn.client_guid = req.client_guid;
    cx.smb.client_guids.insert(conn.id, req.client_guid);
    conn.client_security_mode = req.security_mode;
    conn.client_capabilities = req.capabilities;
    conn.client_dialects = req.dialects.clone();
    conn.server_security_mode = server_security_mode(cx.core);
    let smb = &cx.core.config.smb;
    let directory_leasing = smb.directory_leasing && req.capabilities & CAP_DIRECTORY_LEASING != 0;
    conn.server_capabilities = capabilities(dialect, directory_leasing, smb.multichannel);
    conn.cipher = cipher;
    // SMB2_GLOBAL_CAP_ENCRYPTION is a 3.0 and 3.0.2 capability (2.2.4);
    // 3.1.1 answers ENCRYPTION_CAPABILITIES instead.
    if cipher.is_some() && dialect != DIALECT_311 {
        conn.server_capabilities |= CAP_ENCRYPTION;
    }
    let mut resp = response(cx.core, cx.smb, cx.conn, dialect, cx.now);
    resp.contexts = contexts;
    ok_with(|b| resp.encode(b))
}
