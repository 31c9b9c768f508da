//! Every SMB2 request decoder of `smb::wire` (MS-SMB2 2.2.1-2.2.40): the
//! header (sync and async), the compound chain walk, the SMB1 multi-protocol
//! NEGOTIATE and each command body, including negotiate contexts, the
//! VALIDATE_NEGOTIATE_INFO FSCTL input, break acknowledgments, create names
//! (`handlers::path::parse`) and create contexts.
//!
//! Input: byte 0 `sel`, then `rest`.
//! - `sel < 0x80`, `sel & 0x1f` = `c`:
//!   - `c <= 0x12`: `rest` is the body of command `c` behind a synthetic
//!     64-byte sync header (body offsets count from that header, as on the
//!     wire);
//!   - `0x13` SMB1 NEGOTIATE (`smb1::decode_negotiate`) of `rest`;
//!   - `0x14`/`0x15` the PREAUTH_INTEGRITY / SIGNING negotiate context data;
//!   - `0x16` a VALIDATE_NEGOTIATE_INFO input buffer;
//!   - `0x17` a create name (UTF-8) for `handlers::path::parse`;
//!   - `0x18` a DCE/RPC PDU of the srvsvc pipe (`smb::pipe::dcerpc`);
//!   - otherwise as `sel >= 0x80`.
//! - `sel >= 0x80`: `rest` is one SMB message as the transport delivers it:
//!   SMB1 when it starts `\xFFSMB`, else an SMB2 compound walked with
//!   `Header::decode` and `compound_element_len`, each element decoded by
//!   the decoder its Command field names.
//!
//! Checks beyond "no panic": wherever an encoder exists, decode → encode →
//! decode is the identity (header, NEGOTIATE, SESSION_SETUP, TREE_CONNECT,
//! LOGOFF/TREE_DISCONNECT/ECHO, CREATE, CLOSE, FLUSH, READ, WRITE, LOCK,
//! IOCTL, VALIDATE_NEGOTIATE_INFO, QUERY_DIRECTORY, QUERY_INFO, SET_INFO,
//! break acks, SMB1 dialects); compound elements tile the message exactly.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use polyshare_core::smb::fscc::decode_set_file_info;
use polyshare_core::smb::handlers::path;
use polyshare_core::smb::pipe::dcerpc::{Bind, PduHeader, Request};
use polyshare_core::smb::wire::change_notify::{decode_change_notify, encode_change_notify};
use polyshare_core::smb::wire::codec::to_vec;
use polyshare_core::smb::wire::create::{CreateRequest, decode_close, encode_close};
use polyshare_core::smb::wire::create_context::decode_create_contexts;
use polyshare_core::smb::wire::header::{HEADER_LEN, Header, PROTOCOL_ID, command, compound_element_len};
use polyshare_core::smb::wire::ioctl::{FSCTL_VALIDATE_NEGOTIATE_INFO, IoctlRequest, ValidateNegotiateInfo};
use polyshare_core::smb::wire::negotiate::{
    NegotiateRequest, PREAUTH_INTEGRITY_CAPABILITIES, SIGNING_CAPABILITIES, preauth_hash_algorithms, signing_algorithms,
};
use polyshare_core::smb::wire::oplock_break::{BreakAck, decode_break_ack};
use polyshare_core::smb::wire::query::{INFO_FILE, QueryDirectoryRequest, QueryInfoRequest, SetInfoRequest};
use polyshare_core::smb::wire::read_write::{LockRequest, ReadRequest, WriteRequest, decode_flush, encode_flush};
use polyshare_core::smb::wire::session_setup::{
    SessionSetupRequest, decode_empty, decode_tree_connect, encode_empty_request, encode_tree_connect,
};
use polyshare_core::smb::wire::smb1::{SMB1_PROTOCOL_ID, decode_negotiate, encode_negotiate};

/// `hdr` (the first 64 bytes of the original message) followed by the body
/// `encode` appends.
fn msg_with(hdr: &[u8], encode: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut m = hdr.to_vec();
    encode(&mut m);
    m
}

/// A synthetic sync header for command `cmd`.
fn header_for(cmd: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    Header { command: cmd, credits: 1, message_id: 1, tree_id: 1, session_id: 1, ..Default::default() }
        .encode(&mut out);
    out
}

fn check_header(b: &[u8]) -> Option<Header> {
    let h = Header::decode(b).ok()?;
    let mut out = Vec::new();
    h.encode(&mut out);
    assert_eq!(out.len(), HEADER_LEN);
    assert_eq!(Header::decode(&out), Ok(h), "header does not round trip");
    // The encoding differs from the input only in what decode ignores:
    // Reserved (sync, bytes 32..36) or TreeId (async, bytes 36..40 hold the
    // AsyncId's high half, which is kept).
    assert_eq!(out.get(..32), b.get(..32));
    assert_eq!(out.get(40..64), b.get(40..64));
    Some(h)
}

/// Decodes `msg` (header + body) as command `cmd`, checking round trips.
fn command(cmd: u16, msg: &[u8]) {
    let Some(hdr) = msg.get(..HEADER_LEN) else { return };
    match cmd {
        command::NEGOTIATE => {
            if let Ok(req) = NegotiateRequest::decode(msg) {
                for c in &req.contexts {
                    match c.context_type {
                        PREAUTH_INTEGRITY_CAPABILITIES => drop(preauth_hash_algorithms(&c.data)),
                        SIGNING_CAPABILITIES => drop(signing_algorithms(&c.data)),
                        _ => {}
                    }
                }
                let again = NegotiateRequest::decode(&msg_with(hdr, |b| req.encode(b)));
                assert_eq!(again, Ok(req), "NEGOTIATE does not round trip");
            }
        }
        command::SESSION_SETUP => {
            if let Ok(req) = SessionSetupRequest::decode(msg) {
                let again = SessionSetupRequest::decode(&msg_with(hdr, |b| req.encode(b)));
                assert_eq!(again, Ok(req), "SESSION_SETUP does not round trip");
            }
        }
        command::LOGOFF | command::TREE_DISCONNECT | command::ECHO if decode_empty(msg).is_ok() => {
            assert_eq!(decode_empty(&msg_with(hdr, encode_empty_request)), Ok(()));
        }
        command::TREE_CONNECT => {
            if let Ok(p) = decode_tree_connect(msg) {
                let again = decode_tree_connect(&msg_with(hdr, |b| encode_tree_connect(&p, b)));
                assert_eq!(again, Ok(p), "TREE_CONNECT does not round trip");
            }
        }
        command::CREATE => {
            if let Ok(req) = CreateRequest::decode(msg) {
                let _ = path::parse(&req.name);
                let _ = decode_create_contexts(&req.contexts);
                let again = CreateRequest::decode(&msg_with(hdr, |b| req.encode(b)));
                assert_eq!(again, Ok(req), "CREATE does not round trip");
            }
        }
        command::CLOSE => {
            if let Ok((flags, fid)) = decode_close(msg) {
                assert_eq!(decode_close(&msg_with(hdr, |b| encode_close(flags, fid, b))), Ok((flags, fid)));
            }
        }
        command::FLUSH => {
            if let Ok(fid) = decode_flush(msg) {
                assert_eq!(decode_flush(&msg_with(hdr, |b| encode_flush(fid, b))), Ok(fid));
            }
        }
        command::READ => {
            if let Ok(req) = ReadRequest::decode(msg) {
                assert_eq!(ReadRequest::decode(&msg_with(hdr, |b| req.encode(b))), Ok(req), "READ does not round trip");
            }
        }
        command::WRITE => {
            if let Ok(req) = WriteRequest::decode(msg) {
                let m = msg_with(hdr, |b| req.encode(b));
                assert_eq!(WriteRequest::decode(&m), Ok(req), "WRITE does not round trip");
            }
        }
        command::LOCK => {
            if let Ok(req) = LockRequest::decode(msg) {
                assert!(!req.locks.is_empty());
                assert_eq!(LockRequest::decode(&msg_with(hdr, |b| req.encode(b))), Ok(req), "LOCK does not round trip");
            }
        }
        command::IOCTL => {
            if let Ok(req) = IoctlRequest::decode(msg) {
                if req.ctl_code == FSCTL_VALIDATE_NEGOTIATE_INFO {
                    validate_negotiate(req.input);
                }
                let m = msg_with(hdr, |b| req.encode(b));
                assert_eq!(IoctlRequest::decode(&m), Ok(req), "IOCTL does not round trip");
            }
        }
        // CANCEL has no body decoder: the header is all the server reads.
        command::CANCEL => {}
        command::CHANGE_NOTIFY => {
            if let Ok(req) = decode_change_notify(msg.get(HEADER_LEN..).unwrap_or(&[])) {
                let again = decode_change_notify(&to_vec(|b| encode_change_notify(&req, b)));
                assert_eq!(again, Ok(req), "CHANGE_NOTIFY does not round trip");
            }
        }
        command::QUERY_DIRECTORY => {
            if let Ok(req) = QueryDirectoryRequest::decode(msg) {
                let again = QueryDirectoryRequest::decode(&msg_with(hdr, |b| req.encode(b)));
                assert_eq!(again, Ok(req), "QUERY_DIRECTORY does not round trip");
            }
        }
        command::QUERY_INFO => {
            if let Ok(req) = QueryInfoRequest::decode(msg) {
                let again = QueryInfoRequest::decode(&msg_with(hdr, |b| req.encode(b)));
                assert_eq!(again, Ok(req), "QUERY_INFO does not round trip");
            }
        }
        command::SET_INFO => {
            if let Ok(req) = SetInfoRequest::decode(msg) {
                if req.info_type == INFO_FILE {
                    let _ = decode_set_file_info(req.class, req.buffer);
                }
                let m = msg_with(hdr, |b| req.encode(b));
                assert_eq!(SetInfoRequest::decode(&m), Ok(req), "SET_INFO does not round trip");
            }
        }
        command::OPLOCK_BREAK => {
            let body = msg.get(HEADER_LEN..).unwrap_or(&[]);
            if let Ok(ack) = decode_break_ack(body) {
                let mut out = Vec::new();
                match &ack {
                    BreakAck::Lease(l) => l.encode(&mut out),
                    BreakAck::Oplock(o) => o.encode(&mut out),
                }
                assert_eq!(decode_break_ack(&out), Ok(ack), "break ack does not round trip");
            }
        }
        _ => {}
    }
}

fn validate_negotiate(input: &[u8]) {
    if let Ok(v) = ValidateNegotiateInfo::decode(input) {
        assert!(v.dialects.len() <= 64);
        assert_eq!(ValidateNegotiateInfo::decode(&to_vec(|b| v.encode(b))), Ok(v), "VALIDATE_NEGOTIATE_INFO does not round trip");
    }
}

fn smb1(msg: &[u8]) {
    if let Ok(d) = decode_negotiate(msg) {
        assert_eq!(decode_negotiate(&to_vec(|b| encode_negotiate(&d, b))), Ok(d), "SMB1 NEGOTIATE does not round trip");
    }
}

/// One transport message: SMB1, or an SMB2 compound walked as the
/// dispatcher walks it.
fn message(frame: &[u8]) {
    if frame.starts_with(&SMB1_PROTOCOL_ID) {
        return smb1(frame);
    }
    if !frame.starts_with(&PROTOCOL_ID) {
        return;
    }
    let frame = Bytes::copy_from_slice(frame);
    let mut off = 0usize;
    loop {
        let Some(rest) = frame.get(off..) else { panic!("compound offset {off} past the end") };
        let Some(hdr) = check_header(rest) else { return };
        let Some(len) = compound_element_len(hdr.next_command, rest.len()) else { return };
        assert!(len >= HEADER_LEN.min(rest.len()) && len <= rest.len());
        let msg = frame.slice(off..off + len);
        command(hdr.command, &msg);
        if hdr.next_command == 0 {
            assert_eq!(off + len, frame.len(), "the last element ends the message");
            return;
        }
        off += len;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    if sel >= 0x80 {
        return message(rest);
    }
    match sel & 0x1f {
        c @ 0..=0x12 => {
            let cmd = u16::from(c);
            command(cmd, &msg_with(&header_for(cmd), |b| b.extend_from_slice(rest)));
        }
        0x13 => smb1(rest),
        0x14 => drop(preauth_hash_algorithms(rest)),
        0x15 => drop(signing_algorithms(rest)),
        0x16 => validate_negotiate(rest),
        0x17 => {
            if let Ok(name) = std::str::from_utf8(rest) {
                let _ = path::parse(name);
            }
        }
        0x18 => {
            if let Ok(h) = PduHeader::decode(rest) {
                let _ = Bind::decode(rest);
                let _ = Request::decode(&h, rest);
            }
        }
        _ => message(rest),
    }
});
