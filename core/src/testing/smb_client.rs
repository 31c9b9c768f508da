//! A minimal SMB 3.1.1 client (test support: unit tests and feature `sim`):
//! anonymous login, tree connect, CREATE with a lease context, WRITE and
//! lease break acknowledgments, built from the MS-SMB2 layouts. Panics on
//! malformed responses: it is for tests and benchmarks only.

use crate::smb::status;
use crate::smb::wire::codec::FileId;
use crate::smb::wire::create::{disposition, options};
use crate::smb::wire::create_context::{
    CreateContext, LeaseContext, LeaseV2, ResponseContext, decode_response_contexts, encode_request_contexts,
};
use crate::smb::wire::header::{Header, command};
use crate::smb::wire::oplock_break::{LeaseBreakAck, LeaseBreakNotification, OplockBreak};
use crate::smb::wire::utf16::utf16le;

/// Read/write data, attributes, EA, READ_CONTROL, SYNCHRONIZE.
pub const RW: u32 = 0x0012_019F;
pub const SHARE_ALL: u32 = 7;

#[derive(Debug, Clone)]
pub struct Msg {
    pub hdr: Header,
    pub body: Vec<u8>,
}

impl Msg {
    pub fn is_break(&self) -> bool {
        self.hdr.command == command::OPLOCK_BREAK && self.hdr.message_id == u64::MAX
    }

    pub fn lease_break(&self) -> Option<LeaseBreakNotification> {
        self.is_break().then(|| LeaseBreakNotification::decode(&self.body).ok()).flatten()
    }

    pub fn file_id(&self) -> FileId {
        FileId::decode(&self.body, 64).unwrap()
    }

    /// The create contexts of a CREATE response (MS-SMB2 2.2.14); their
    /// offset counts from the start of the header.
    pub fn create_contexts(&self) -> Vec<ResponseContext> {
        let field = |at: usize| u32::from_le_bytes(self.body[at..at + 4].try_into().unwrap()) as usize;
        let (offset, len) = (field(80), field(84));
        if len == 0 {
            return Vec::new();
        }
        let chain = bytes::Bytes::copy_from_slice(&self.body[offset - 64..offset - 64 + len]);
        decode_response_contexts(&chain).unwrap()
    }
}

/// Splits one transmitted frame (possibly compounded) into messages.
pub fn split(data: &[u8]) -> Vec<Msg> {
    let mut out = Vec::new();
    let mut off = 4;
    loop {
        let rest = &data[off..];
        let hdr = Header::decode(rest).unwrap();
        let len = if hdr.next_command == 0 { rest.len() } else { hdr.next_command as usize };
        out.push(Msg { hdr, body: rest[64..len].to_vec() });
        if hdr.next_command == 0 {
            return out;
        }
        off += len;
    }
}

/// Frames one request.
pub fn request(cmd: u16, mid: u64, session: u64, tree: u32, body: &[u8]) -> Vec<u8> {
    let h = Header {
        credit_charge: 1,
        command: cmd,
        credits: 64,
        message_id: mid,
        tree_id: tree,
        session_id: session,
        ..Default::default()
    };
    let mut m = Vec::new();
    h.encode(&mut m);
    m.extend_from_slice(body);
    let mut framed = vec![0, (m.len() >> 16) as u8, (m.len() >> 8) as u8, m.len() as u8];
    framed.extend_from_slice(&m);
    framed
}

pub fn negotiate_body(guid: [u8; 16]) -> Vec<u8> {
    let mut b = vec![36, 0, 1, 0, 1, 0, 0, 0];
    b.extend_from_slice(&0x64u32.to_le_bytes()); // LARGE_MTU, DIRECTORY_LEASING, ENCRYPTION
    b.extend_from_slice(&guid);
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&0x0311u16.to_le_bytes());
    while (64 + b.len()) % 8 != 0 {
        b.push(0);
    }
    let off = (64 + b.len()) as u32;
    b[28..32].copy_from_slice(&off.to_le_bytes());
    b[32] = 2;
    // PREAUTH_INTEGRITY_CAPABILITIES, SHA-512, 4-byte salt
    b.extend_from_slice(&[1, 0, 10, 0, 0, 0, 0, 0, 1, 0, 4, 0, 1, 0, 9, 9, 9, 9]);
    b.extend_from_slice(&[0; 6]);
    // SIGNING_CAPABILITIES: AES-CMAC, AES-GMAC
    b.extend_from_slice(&[8, 0, 6, 0, 0, 0, 0, 0, 2, 0, 1, 0, 2, 0]);
    b
}

pub fn session_setup_body(token: &[u8]) -> Vec<u8> {
    let mut b = vec![25, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 88, 0];
    b.extend_from_slice(&(token.len() as u16).to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(token);
    b
}

pub fn ntlm_negotiate() -> Vec<u8> {
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend_from_slice(&1u32.to_le_bytes());
    m.extend_from_slice(&0xE288_8A15u32.to_le_bytes());
    m.extend_from_slice(&[0; 16]);
    m.extend_from_slice(&[6, 1, 0, 0, 0, 0, 0, 15]);
    m
}

/// MS-NLMP 3.3.2 anonymous AUTHENTICATE_MESSAGE.
pub fn ntlm_anonymous_authenticate() -> Vec<u8> {
    ntlm_authenticate_without_response(&[])
}

/// An AUTHENTICATE_MESSAGE of user "guest" with no response: a guest logon
/// on a server that maps unknown users to guest (smbtorture `-U guest%`).
pub fn ntlm_guest_authenticate() -> Vec<u8> {
    let user: Vec<u8> = "guest".encode_utf16().flat_map(u16::to_le_bytes).collect();
    ntlm_authenticate_without_response(&user)
}

/// An AUTHENTICATE_MESSAGE naming `user` (UTF-16LE) with an empty NT
/// response.
fn ntlm_authenticate_without_response(user: &[u8]) -> Vec<u8> {
    let fields: [&[u8]; 6] = [&[0], &[], &[], user, &[b'C', 0], &[]];
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend_from_slice(&3u32.to_le_bytes());
    let mut off = 88u32;
    for f in fields {
        m.extend_from_slice(&(f.len() as u16).to_le_bytes());
        m.extend_from_slice(&(f.len() as u16).to_le_bytes());
        m.extend_from_slice(&off.to_le_bytes());
        off += f.len() as u32;
    }
    m.extend_from_slice(&0xA288_8A15u32.to_le_bytes());
    m.extend_from_slice(&[6, 1, 0, 0, 0, 0, 0, 15]);
    m.extend_from_slice(&[0; 16]);
    for f in fields {
        m.extend_from_slice(f);
    }
    m
}

/// An NTLMv2 AUTHENTICATE_MESSAGE (no key exchange, no MIC) for `user`
/// answering `challenge`; returns it and the session base key.
pub fn ntlm_user_authenticate(challenge: &[u8], user: &str, password: &str) -> (Vec<u8>, [u8; 16]) {
    let server_challenge: [u8; 8] = challenge[24..32].try_into().unwrap();
    let info_len = u16::from_le_bytes([challenge[40], challenge[41]]) as usize;
    let info_off = u32::from_le_bytes([challenge[44], challenge[45], challenge[46], challenge[47]]) as usize;
    let info = &challenge[info_off..info_off + info_len];
    let ts = crate::smb::auth::ntlm::find_av(info, crate::smb::auth::ntlm::MSV_AV_TIMESTAMP).unwrap();
    let client_challenge = [0xaa; 8];
    let mut blob = vec![1, 1, 0, 0, 0, 0, 0, 0];
    blob.extend_from_slice(ts);
    blob.extend_from_slice(&client_challenge);
    blob.extend_from_slice(&[0; 4]);
    blob.extend_from_slice(info);
    blob.extend_from_slice(&[0; 4]);
    let key = crate::smb::auth::ntlm::ntowfv2(password, user, "WORKGROUP");
    let proof = crate::smb::auth::ntlm::nt_proof(&key, &server_challenge, &blob);
    let base = crate::smb::auth::ntlm::session_base_key(&key, &proof);
    let mut nt = proof.to_vec();
    nt.extend_from_slice(&blob);
    let mut lm = crate::smb::auth::ntlm::hmac_md5(&key, &[&server_challenge, &client_challenge]).to_vec();
    lm.extend_from_slice(&client_challenge);
    let fields = [lm, nt, utf16le("WORKGROUP"), utf16le(user), utf16le("CLIENT"), Vec::new()];
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend_from_slice(&3u32.to_le_bytes());
    let mut off = 88u32;
    for f in &fields {
        m.extend_from_slice(&(f.len() as u16).to_le_bytes());
        m.extend_from_slice(&(f.len() as u16).to_le_bytes());
        m.extend_from_slice(&off.to_le_bytes());
        off += f.len() as u32;
    }
    m.extend_from_slice(&0xA288_8215u32.to_le_bytes()); // 56|128|VERSION|TARGET_INFO|ESS|ALWAYS_SIGN|NTLM|SIGN|REQUEST_TARGET|UNICODE
    m.extend_from_slice(&crate::smb::auth::ntlm::VERSION);
    m.extend_from_slice(&[0; 16]);
    for f in &fields {
        m.extend_from_slice(f);
    }
    (m, base)
}

/// The SecurityBuffer of a SESSION_SETUP response `body` (after the
/// 64-byte header its offset counts from).
pub fn security_buffer(body: &[u8]) -> &[u8] {
    let off = usize::from(u16::from_le_bytes([body[4], body[5]])).saturating_sub(64);
    let len = usize::from(u16::from_le_bytes([body[6], body[7]]));
    &body[off..off + len]
}

pub fn tree_connect_body(path: &str) -> Vec<u8> {
    let p = utf16le(path);
    let mut b = vec![9, 0, 0, 0, 72, 0];
    b.extend_from_slice(&(p.len() as u16).to_le_bytes());
    b.extend_from_slice(&p);
    b
}

/// CREATE (OPEN_IF) of `name` asking for lease `state` under `key` (v2), or
/// no lease at all.
pub fn create_body(name: &str, lease: Option<([u8; 16], u32)>) -> Vec<u8> {
    let oplock = if lease.is_some() { OPLOCK_LEVEL_LEASE } else { 0 };
    let lease = lease.map(|(key, state)| lease_v2(key, state));
    create_with(name, oplock, lease, SHARE_ALL, disposition::OPEN_IF)
}

/// A v2 lease request context (MS-SMB2 2.2.13.2.10) without a parent key.
pub fn lease_v2(key: [u8; 16], state: u32) -> LeaseContext {
    LeaseContext { key, state, flags: 0, duration: 0, v2: Some(LeaseV2 { parent_key: [0; 16], epoch: 0 }) }
}

/// A v2 lease request naming `parent` as its ParentLeaseKey
/// (SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET, MS-SMB2 2.2.13.2.10).
pub fn lease_v2_parent(key: [u8; 16], state: u32, parent: [u8; 16]) -> LeaseContext {
    LeaseContext { key, state, flags: 0x4, duration: 0, v2: Some(LeaseV2 { parent_key: parent, epoch: 0 }) }
}

/// CREATE (OPEN_IF) of directory `name` with FILE_DIRECTORY_FILE and an
/// optional v2 lease request.
pub fn create_dir_body(name: &str, lease: Option<([u8; 16], u32)>) -> Vec<u8> {
    let oplock = if lease.is_some() { OPLOCK_LEVEL_LEASE } else { 0 };
    let lease = lease.map(|(key, state)| lease_v2(key, state));
    let mut b = create_with(name, oplock, lease, SHARE_ALL, disposition::OPEN_IF);
    // CreateOptions sits at offset 40 of the CREATE body (MS-SMB2 2.2.13).
    b[40..44].copy_from_slice(&options::DIRECTORY_FILE.to_le_bytes());
    b
}

/// RequestedOplockLevel SMB2_OPLOCK_LEVEL_LEASE (MS-SMB2 2.2.13).
pub const OPLOCK_LEVEL_LEASE: u8 = 0xFF;

/// CREATE of `name` for read/write with RequestedOplockLevel `oplock`, a
/// lease context when `lease` is given, ShareAccess `share` and
/// CreateDisposition `disposition` (MS-SMB2 2.2.13).
pub fn create_with(name: &str, oplock: u8, lease: Option<LeaseContext>, share: u32, disposition: u32) -> Vec<u8> {
    let lease: Vec<CreateContext> = lease.into_iter().map(CreateContext::Lease).collect();
    create_with_contexts(name, oplock, &lease, share, disposition)
}

/// [`create_with`] carrying the request contexts `ctxs`.
pub fn create_with_contexts(name: &str, oplock: u8, ctxs: &[CreateContext], share: u32, disposition: u32) -> Vec<u8> {
    let mut contexts = Vec::new();
    encode_request_contexts(ctxs, &mut contexts);
    let name16 = utf16le(name);
    let mut b = vec![57, 0, 0, oplock];
    b.extend_from_slice(&2u32.to_le_bytes());
    b.extend_from_slice(&[0; 16]);
    for v in [RW, 0x80, share, disposition, options::NON_DIRECTORY_FILE] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&120u16.to_le_bytes());
    b.extend_from_slice(&(name16.len() as u16).to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&name16);
    if !contexts.is_empty() {
        while (64 + b.len()) % 8 != 0 {
            b.push(0);
        }
        let off = (64 + b.len()) as u32;
        b[48..52].copy_from_slice(&off.to_le_bytes());
        b[52..56].copy_from_slice(&(contexts.len() as u32).to_le_bytes());
        b.extend_from_slice(&contexts);
    }
    b
}

/// READ of `len` bytes at `offset` (MS-SMB2 2.2.19).
pub fn read_body(fid: FileId, offset: u64, len: u32) -> Vec<u8> {
    let mut b = vec![49, 0, 0x50, 0];
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&offset.to_le_bytes());
    fid.encode(&mut b);
    b.extend_from_slice(&[0; 17]);
    b
}

/// The data of a READ response (MS-SMB2 2.2.20): DataOffset counts from the
/// start of the SMB2 header.
pub fn read_response_data(body: &[u8]) -> Option<&[u8]> {
    let off = usize::from(*body.get(2)?).checked_sub(64)?;
    let len = u32::from_le_bytes(body.get(4..8)?.try_into().ok()?) as usize;
    body.get(off..off.checked_add(len)?)
}

/// SET_INFO (MS-SMB2 2.2.39) of file information `class` for `fid`.
pub fn set_info_body(fid: FileId, class: u8, buf: &[u8]) -> Vec<u8> {
    let mut b = vec![33, 0, 1, class];
    b.extend_from_slice(&(buf.len() as u32).to_le_bytes());
    b.extend_from_slice(&96u16.to_le_bytes());
    b.extend_from_slice(&[0; 6]);
    fid.encode(&mut b);
    b.extend_from_slice(buf);
    b
}

/// FileBasicInformation (MS-FSCC 2.4.7) that leaves the times as they are
/// and sets `attributes`.
pub fn basic_info(attributes: u32) -> Vec<u8> {
    let mut b = vec![0; 32];
    b.extend_from_slice(&attributes.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b
}

/// CLOSE (MS-SMB2 2.2.15).
pub fn close_body(fid: FileId) -> Vec<u8> {
    let mut b = vec![24, 0, 0, 0, 0, 0, 0, 0];
    fid.encode(&mut b);
    b
}

/// Oplock Break Acknowledgment (MS-SMB2 2.2.24.1) for `fid` at `level`.
pub fn oplock_ack_body(fid: FileId, level: u8) -> Vec<u8> {
    let mut id = Vec::with_capacity(16);
    fid.encode(&mut id);
    let mut file_id = [0; 16];
    file_id.copy_from_slice(&id);
    let mut b = Vec::new();
    OplockBreak { level, file_id }.encode(&mut b);
    b.to_vec()
}

pub fn write_body(fid: FileId, offset: u64, data: &[u8]) -> Vec<u8> {
    let mut b = vec![49, 0, 112, 0];
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&offset.to_le_bytes());
    fid.encode(&mut b);
    b.extend_from_slice(&[0; 16]);
    b.extend_from_slice(data);
    b
}

/// LOCK (MS-SMB2 2.2.26) of one range: `len` bytes at `offset` with
/// `flags` (SMB2_LOCKFLAG_*), LockSequence 0.
pub fn lock_body(fid: FileId, offset: u64, len: u64, flags: u32) -> Vec<u8> {
    lock_body_seq(fid, offset, len, flags, 0, 0)
}

/// [`lock_body`] with LockSequenceIndex `index` and LockSequenceNumber
/// `number` (MS-SMB2 2.2.26: index << 4 | number).
pub fn lock_body_seq(fid: FileId, offset: u64, len: u64, flags: u32, index: u32, number: u32) -> Vec<u8> {
    let mut b = vec![48, 0, 1, 0];
    b.extend_from_slice(&(index << 4 | number).to_le_bytes());
    fid.encode(&mut b);
    b.extend_from_slice(&offset.to_le_bytes());
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&flags.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b
}

/// SMB2_LOCKFLAG_EXCLUSIVE_LOCK | SMB2_LOCKFLAG_FAIL_IMMEDIATELY.
pub const LOCK_EXCLUSIVE_NOW: u32 = 0x12;

pub fn ack_body(key: [u8; 16], state: u32) -> Vec<u8> {
    let mut b = Vec::new();
    LeaseBreakAck { flags: 0, key, state, duration: 0 }.encode(&mut b);
    b.to_vec()
}

pub const SUCCESS: u32 = status::SUCCESS;

/// CREATE (OPEN) of directory `name` ("" is the share root) for listing and
/// watching: FILE_LIST_DIRECTORY, READ_ATTRIBUTES, SYNCHRONIZE.
pub fn open_dir_body(name: &str) -> Vec<u8> {
    let name16 = utf16le(name);
    let mut b = vec![57, 0, 0, 0];
    b.extend_from_slice(&2u32.to_le_bytes());
    b.extend_from_slice(&[0; 16]);
    for v in [0x0010_0081, 0x10, SHARE_ALL, disposition::OPEN, options::DIRECTORY_FILE] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&120u16.to_le_bytes());
    b.extend_from_slice(&(name16.len() as u16).to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&name16);
    if name16.is_empty() {
        b.push(0);
    }
    b
}

/// CHANGE_NOTIFY on `fid` for the FILE_NOTIFY_CHANGE_* bits in `filter`.
pub fn change_notify_body(fid: FileId, filter: u32, watch_tree: bool, max: u32) -> Vec<u8> {
    let req = crate::smb::wire::change_notify::ChangeNotifyRequest {
        flags: u16::from(watch_tree),
        output_buffer_length: max,
        file_id: fid,
        completion_filter: filter,
    };
    let mut b = Vec::new();
    crate::smb::wire::change_notify::encode_change_notify(&req, &mut b);
    b
}

/// QUERY_INFO of `class` (InfoType `info_type`) on `fid` (MS-SMB2 2.2.37).
pub fn query_info_body(fid: FileId, info_type: u8, class: u8) -> Vec<u8> {
    let mut b = vec![41, 0, info_type, class];
    b.extend_from_slice(&4096u32.to_le_bytes());
    b.extend_from_slice(&[0; 16]);
    fid.encode(&mut b);
    b.push(0);
    b
}

/// A related compound (MS-SMB2 3.2.4.1.4) of `elements`, MessageIds from
/// `mid` on, framed: every element after the first has
/// SMB2_FLAGS_RELATED_OPERATIONS and uses the FileId of the one before.
pub fn related_chain(elements: &[(u16, Vec<u8>)], mid: u64, session: u64, tree: u32) -> Vec<u8> {
    let mut m = Vec::new();
    for (i, (cmd, body)) in elements.iter().enumerate() {
        let start = m.len();
        let flags = if i == 0 { 0 } else { crate::smb::wire::header::FLAG_RELATED };
        let h = Header {
            credit_charge: 1,
            command: *cmd,
            credits: 64,
            flags,
            message_id: mid + i as u64,
            tree_id: tree,
            session_id: session,
            ..Default::default()
        };
        h.encode(&mut m);
        m.extend_from_slice(body);
        if i + 1 < elements.len() {
            while m.len() % 8 != 0 {
                m.push(0);
            }
            let next = (m.len() - start) as u32;
            m[start + 20..start + 24].copy_from_slice(&next.to_le_bytes());
        }
    }
    let mut framed = vec![0, (m.len() >> 16) as u8, (m.len() >> 8) as u8, m.len() as u8];
    framed.extend_from_slice(&m);
    framed
}
