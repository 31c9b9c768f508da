//! Scenario tests: a whole Server driven over Protocol::Smb by a small
//! test client (raw messages built from the spec layouts), over MemoryFs.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::status;
use super::wire::codec::{FileId, u16_at, u32_at, u64_at};
use super::wire::create::{disposition, options};
use super::wire::header::{FLAG_RELATED, Header, command};
use super::wire::utf16::utf16le;
use crate::config::Config;
use crate::id::{ConnId, Protocol};
use crate::output::Output;
use crate::server::Server;
use crate::vfs::MemoryFs;

const RW: u32 = 0x0012_019F; // read/write data, attributes, EA, READ_CONTROL, SYNCHRONIZE
const DELETE: u32 = 0x0001_0000;
const SHARE_ALL: u32 = 7;

/// One decoded response.
#[derive(Debug, Clone)]
struct Resp {
    hdr: Header,
    body: Vec<u8>,
}

impl Resp {
    fn status(&self) -> u32 {
        self.hdr.status
    }
    fn file_id(&self) -> FileId {
        FileId::decode(&self.body, 64).unwrap()
    }
}

struct Client {
    server: Server,
    conn: ConnId,
    now: Instant,
    mid: u64,
    session: u64,
    tree: u32,
    closed: bool,
}

use crate::testing::smb_client::{ntlm_anonymous_authenticate, ntlm_negotiate, set_info_body};

fn raw_header(cmd: u16, mid: u64, session: u64, tree: u32, flags: u32) -> Vec<u8> {
    let h = Header {
        credit_charge: 1,
        command: cmd,
        credits: 64,
        flags,
        message_id: mid,
        tree_id: tree,
        session_id: session,
        ..Default::default()
    };
    let mut v = Vec::new();
    h.encode(&mut v);
    v
}

fn negotiate_body(dialects: &[u16], contexts: bool) -> Vec<u8> {
    let mut b = vec![36, 0];
    b.extend_from_slice(&(dialects.len() as u16).to_le_bytes());
    b.extend_from_slice(&[1, 0, 0, 0]); // signing enabled
    b.extend_from_slice(&0x64u32.to_le_bytes()); // LARGE_MTU, DIRECTORY_LEASING, ENCRYPTION
    b.extend_from_slice(&[0x11; 16]);
    let ctx_off_pos = b.len();
    b.extend_from_slice(&[0; 8]);
    for d in dialects {
        b.extend_from_slice(&d.to_le_bytes());
    }
    if contexts {
        while (64 + b.len()) % 8 != 0 {
            b.push(0);
        }
        let off = (64 + b.len()) as u32;
        b[ctx_off_pos..ctx_off_pos + 4].copy_from_slice(&off.to_le_bytes());
        b[ctx_off_pos + 4] = 2;
        // PREAUTH_INTEGRITY_CAPABILITIES, SHA-512, 4-byte salt
        b.extend_from_slice(&[1, 0, 10, 0, 0, 0, 0, 0, 1, 0, 4, 0, 1, 0, 9, 9, 9, 9]);
        b.extend_from_slice(&[0; 6]);
        // SIGNING_CAPABILITIES: AES-CMAC, AES-GMAC
        b.extend_from_slice(&[8, 0, 6, 0, 0, 0, 0, 0, 2, 0, 1, 0, 2, 0]);
    }
    b
}

fn smb1_negotiate() -> Vec<u8> {
    let mut m = vec![0xFF, b'S', b'M', b'B', 0x72];
    m.resize(32, 0);
    m.push(0);
    let mut bytes = Vec::new();
    for d in ["NT LM 0.12", "SMB 2.002", "SMB 2.???"] {
        bytes.push(2);
        bytes.extend_from_slice(d.as_bytes());
        bytes.push(0);
    }
    m.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    m.extend_from_slice(&bytes);
    m
}

fn create_body(name: &str, access: u32, share: u32, disp: u32, opts: u32, contexts: &[u8]) -> Vec<u8> {
    let name16 = utf16le(name);
    let mut b = vec![57, 0, 0, 0];
    b.extend_from_slice(&2u32.to_le_bytes());
    b.extend_from_slice(&[0; 16]);
    for v in [access, 0x80, share, disp, opts] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&120u16.to_le_bytes());
    b.extend_from_slice(&(name16.len() as u16).to_le_bytes());
    let ctx_pos = b.len();
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&name16);
    if name16.is_empty() {
        b.push(0);
    }
    if !contexts.is_empty() {
        while (64 + b.len()) % 8 != 0 {
            b.push(0);
        }
        let off = (64 + b.len()) as u32;
        b[ctx_pos..ctx_pos + 4].copy_from_slice(&off.to_le_bytes());
        b[ctx_pos + 4..ctx_pos + 8].copy_from_slice(&(contexts.len() as u32).to_le_bytes());
        b.extend_from_slice(contexts);
    }
    b
}

fn fid_body(ss: u16, fid: FileId, fid_at: usize, extra: &[u8]) -> Vec<u8> {
    let mut b = ss.to_le_bytes().to_vec();
    b.resize(fid_at, 0);
    fid.encode(&mut b);
    b.extend_from_slice(extra);
    b
}

fn close_body(fid: FileId, flags: u16) -> Vec<u8> {
    let mut b = fid_body(24, fid, 8, &[]);
    b[2..4].copy_from_slice(&flags.to_le_bytes());
    b
}

fn write_body(fid: FileId, offset: u64, data: &[u8]) -> Vec<u8> {
    let mut b = vec![49, 0, 112, 0];
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&offset.to_le_bytes());
    fid.encode(&mut b);
    b.extend_from_slice(&[0; 16]);
    b.extend_from_slice(data);
    b
}

fn read_body(fid: FileId, offset: u64, len: u32) -> Vec<u8> {
    let mut b = vec![49, 0, 0, 0];
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&offset.to_le_bytes());
    fid.encode(&mut b);
    b.extend_from_slice(&[0; 17]);
    b
}

fn query_dir_body(fid: FileId, class: u8, flags: u8, pattern: &str) -> Vec<u8> {
    let p = utf16le(pattern);
    let mut b = vec![33, 0, class, flags, 0, 0, 0, 0];
    fid.encode(&mut b);
    b.extend_from_slice(&96u16.to_le_bytes());
    b.extend_from_slice(&(p.len() as u16).to_le_bytes());
    b.extend_from_slice(&65536u32.to_le_bytes());
    b.extend_from_slice(&p);
    b
}

fn query_info_body(fid: FileId, info_type: u8, class: u8) -> Vec<u8> {
    let mut b = vec![41, 0, info_type, class];
    b.extend_from_slice(&4096u32.to_le_bytes());
    b.extend_from_slice(&[0; 16]);
    fid.encode(&mut b);
    b.push(0);
    b
}

fn rename_info(target: &str, replace: bool) -> Vec<u8> {
    let n = utf16le(target);
    let mut b = vec![replace as u8];
    b.extend_from_slice(&[0; 7]);
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&(n.len() as u32).to_le_bytes());
    b.extend_from_slice(&n);
    b
}

/// Splits one transmitted SMB2 message (after the 4-byte transport header)
/// into its compound elements.
fn split(data: &[u8]) -> Vec<Resp> {
    let mut out = Vec::new();
    let mut off = 4;
    loop {
        let rest = &data[off..];
        let hdr = Header::decode(rest).unwrap();
        let len = if hdr.next_command == 0 { rest.len() } else { hdr.next_command as usize };
        assert!(len % 8 == 0 || hdr.next_command == 0, "compound elements are 8-aligned");
        out.push(Resp { hdr, body: rest[64..len].to_vec() });
        if hdr.next_command == 0 {
            break;
        }
        off += len;
    }
    out
}

impl Client {
    fn new() -> Self {
        Self::with_config(Config::default())
    }

    fn with_config(config: Config) -> Self {
        let now = Instant::now();
        let mut server = Server::new(config, Box::new(MemoryFs::default()), 7, now);
        let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let conn = server.accept(Protocol::Smb, peer, now).unwrap();
        Self { server, conn, now, mid: 0, session: 0, tree: 0, closed: false }
    }

    fn send_raw(&mut self, msg: &[u8]) -> Vec<Vec<Resp>> {
        let mut framed = vec![0, (msg.len() >> 16) as u8, (msg.len() >> 8) as u8, msg.len() as u8];
        framed.extend_from_slice(msg);
        self.server.handle_input(self.conn, &framed, self.now);
        let mut out = Vec::new();
        while let Some(o) = self.server.poll_output_io_inline(self.now) {
            match o {
                Output::Transmit { data, .. } => out.push(split(&data)),
                Output::Close { .. } => self.closed = true,
                Output::Io(_) => {}
            }
        }
        out
    }

    fn call_flags(&mut self, cmd: u16, body: &[u8], flags: u32) -> Resp {
        let mut m = raw_header(cmd, self.mid, self.session, self.tree, flags);
        self.mid += 1;
        m.extend_from_slice(body);
        let mut r = self.send_raw(&m);
        assert_eq!(r.len(), 1, "one response message");
        r.remove(0).remove(0)
    }

    fn call(&mut self, cmd: u16, body: &[u8]) -> Resp {
        self.call_flags(cmd, body, 0)
    }

    fn negotiate_311(&mut self) -> Resp {
        self.call(command::NEGOTIATE, &negotiate_body(&[0x0202, 0x0210, 0x0300, 0x0302, 0x0311], true))
    }

    fn session_setup(&mut self, token: &[u8]) -> Resp {
        let mut b = vec![25, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 88, 0];
        b.extend_from_slice(&(token.len() as u16).to_le_bytes());
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(token);
        self.call(command::SESSION_SETUP, &b)
    }

    fn login_anonymous(&mut self) {
        self.negotiate_311();
        let r = self.session_setup(&ntlm_negotiate());
        assert_eq!(r.status(), status::MORE_PROCESSING_REQUIRED);
        self.session = r.hdr.session_id;
        let r = self.session_setup(&ntlm_anonymous_authenticate());
        assert_eq!(r.status(), status::SUCCESS);
        assert_eq!(u16_at(&r.body, 2).unwrap(), 0x2, "IS_NULL");
    }

    fn tree_connect(&mut self, path: &str) -> Resp {
        let p = utf16le(path);
        let mut b = vec![9, 0, 0, 0, 72, 0];
        b.extend_from_slice(&(p.len() as u16).to_le_bytes());
        b.extend_from_slice(&p);
        self.call(command::TREE_CONNECT, &b)
    }

    fn ready() -> Self {
        let mut c = Self::new();
        c.login_anonymous();
        let r = c.tree_connect("\\\\127.0.0.1\\SHARE");
        assert_eq!(r.status(), status::SUCCESS);
        c.tree = r.hdr.tree_id;
        c
    }

    fn create(&mut self, name: &str, access: u32, share: u32, disp: u32, opts: u32) -> Resp {
        self.call(command::CREATE, &create_body(name, access, share, disp, opts, &[]))
    }

    fn put(&mut self, name: &str, data: &[u8]) {
        let r = self.create(name, RW, SHARE_ALL, disposition::OVERWRITE_IF, options::NON_DIRECTORY_FILE);
        assert_eq!(r.status(), status::SUCCESS, "create {name}");
        let fid = r.file_id();
        assert_eq!(self.call(command::WRITE, &write_body(fid, 0, data)).status(), status::SUCCESS);
        assert_eq!(self.call(command::CLOSE, &close_body(fid, 0)).status(), status::SUCCESS);
    }

    fn list(&mut self, dir: &str, pattern: &str) -> Result<Vec<String>, u32> {
        let r = self.create(dir, 0x0010_0081, SHARE_ALL, disposition::OPEN, options::DIRECTORY_FILE);
        assert_eq!(r.status(), status::SUCCESS, "open dir {dir}");
        let fid = r.file_id();
        let mut names = Vec::new();
        let mut result = Ok(());
        loop {
            let r = self.call(command::QUERY_DIRECTORY, &query_dir_body(fid, 37, 0, pattern));
            match r.status() {
                status::SUCCESS => names.extend(dir_names(&r.body, 104)),
                status::NO_MORE_FILES => break,
                s => {
                    result = Err(s);
                    break;
                }
            }
        }
        self.call(command::CLOSE, &close_body(fid, 0));
        result.map(|_| names)
    }
}

/// Names of a FileIdBothDirectoryInformation (or other class with the name
/// length at 60 and the name at `name_at`) listing.
fn dir_names(body: &[u8], name_at: usize) -> Vec<String> {
    let off = u16_at(body, 2).unwrap() as usize - 64;
    let len = u32_at(body, 4).unwrap() as usize;
    let buf = &body[off..off + len];
    let mut out = Vec::new();
    let mut p = 0;
    loop {
        let next = u32_at(buf, p).unwrap() as usize;
        let nlen = u32_at(buf, p + 60).unwrap() as usize;
        let units: Vec<u16> =
            buf[p + name_at..p + name_at + nlen].chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        out.push(String::from_utf16(&units).unwrap());
        if next == 0 {
            break;
        }
        p += next;
    }
    out
}

#[test]
fn smb1_multi_protocol_then_smb2_311() {
    let mut c = Client::new();
    let r = c.send_raw(&smb1_negotiate());
    let r = &r[0][0];
    assert_eq!(r.hdr.command, command::NEGOTIATE);
    assert_eq!(u16_at(&r.body, 4).unwrap(), 0x02FF, "wildcard dialect asks for an SMB2 NEGOTIATE");
    c.mid = 1;
    let r = c.negotiate_311();
    assert_eq!(r.status(), status::SUCCESS);
    assert_eq!(u16_at(&r.body, 4).unwrap(), 0x0311);
    assert_eq!(u16_at(&r.body, 6).unwrap(), 2, "preauth and signing contexts");
    let caps = u32_at(&r.body, 24).unwrap();
    assert_eq!(caps & 0x6, 0x6, "LEASING and LARGE_MTU");
    assert_eq!(caps & 0x60, 0x20, "directory leasing (the client asked), no encryption");
    assert!(u32_at(&r.body, 32).unwrap() >= 1 << 20);
    assert_eq!(u32_at(&r.body, 60).unwrap() % 8, 0, "contexts 8-aligned");
    // A second NEGOTIATE is a protocol violation.
    c.send_raw(&{
        let mut m = raw_header(command::NEGOTIATE, c.mid, 0, 0, 0);
        m.extend_from_slice(&negotiate_body(&[0x0311], true));
        m
    });
    assert!(c.closed);
}

#[test]
fn smb1_with_only_2002_selects_2002() {
    let mut c = Client::new();
    let mut m = vec![0xFF, b'S', b'M', b'B', 0x72];
    m.resize(32, 0);
    m.push(0);
    let d = b"\x02SMB 2.002\0";
    m.extend_from_slice(&(d.len() as u16).to_le_bytes());
    m.extend_from_slice(d);
    let r = c.send_raw(&m);
    assert_eq!(u16_at(&r[0][0].body, 4).unwrap(), 0x0202);
}

#[test]
fn garbage_and_commands_before_negotiate_close_the_connection() {
    let mut c = Client::new();
    c.send_raw(b"GET / HTTP/1.1\r\n\r\n");
    assert!(c.closed);
    let mut c = Client::new();
    c.call_flags_expect_close(command::ECHO, &[4, 0, 0, 0]);
}

impl Client {
    fn call_flags_expect_close(&mut self, cmd: u16, body: &[u8]) {
        let mut m = raw_header(cmd, self.mid, self.session, self.tree, 0);
        m.extend_from_slice(body);
        self.send_raw(&m);
        assert!(self.closed);
    }
}

#[test]
fn message_ids_outside_the_window_close_the_connection() {
    let mut c = Client::new();
    c.negotiate_311();
    c.mid = 5000;
    c.call_flags_expect_close(command::ECHO, &[4, 0, 0, 0]);
    let mut c = Client::new();
    c.negotiate_311();
    c.mid = 0; // reused
    c.call_flags_expect_close(command::ECHO, &[4, 0, 0, 0]);
}

#[test]
fn unknown_share_and_unauthenticated_timeout() {
    let mut c = Client::new();
    c.login_anonymous();
    assert_eq!(c.tree_connect("\\\\x\\nope").status(), status::BAD_NETWORK_NAME);
    let ipc = c.tree_connect("\\\\x\\IPC$");
    assert_eq!((ipc.status(), ipc.body[2]), (status::SUCCESS, 2));
    c.tree = ipc.hdr.tree_id;
    assert_eq!(c.create("lsarpc", RW, SHARE_ALL, disposition::OPEN, 0).status(), status::OBJECT_NAME_NOT_FOUND);
    // Without a session nothing but NEGOTIATE/SESSION_SETUP/ECHO works.
    c.session = 0x1234;
    assert_eq!(c.tree_connect("\\\\x\\share").status(), status::USER_SESSION_DELETED);

    let mut idle = Client::new();
    idle.negotiate_311();
    let later = idle.now + Duration::from_secs(61);
    idle.server.handle_timeout(later);
    assert!(matches!(idle.server.poll_output(), Some(Output::Close { .. })));
    // An authenticated connection is not timed out.
    c.server.handle_timeout(later);
    assert_eq!(c.server.connection_count(), 1);
}

#[test]
fn create_write_read_close() {
    let mut c = Client::ready();
    let r = c.create("f.txt", RW, SHARE_ALL, disposition::CREATE, 0);
    assert_eq!(r.status(), status::SUCCESS);
    assert_eq!(u32_at(&r.body, 4).unwrap(), 2, "FILE_CREATED");
    let fid = r.file_id();
    let w = c.call(command::WRITE, &write_body(fid, 0, b"hello world"));
    assert_eq!((w.status(), u32_at(&w.body, 4).unwrap()), (status::SUCCESS, 11));
    let rd = c.call(command::READ, &read_body(fid, 6, 100));
    assert_eq!(rd.status(), status::SUCCESS);
    assert_eq!(&rd.body[16..], b"world");
    assert_eq!(c.call(command::READ, &read_body(fid, 11, 10)).status(), status::END_OF_FILE);
    let cl = c.call(command::CLOSE, &close_body(fid, 1));
    assert_eq!(cl.status(), status::SUCCESS);
    assert_eq!(u64_at(&cl.body, 48).unwrap(), 11, "POSTQUERY_ATTRIB end of file");
    assert_eq!(c.call(command::CLOSE, &close_body(fid, 0)).status(), status::FILE_CLOSED);

    // Dispositions.
    assert_eq!(c.create("f.txt", RW, SHARE_ALL, disposition::CREATE, 0).status(), status::OBJECT_NAME_COLLISION);
    let r = c.create("F.TXT", RW, SHARE_ALL, disposition::OPEN, 0);
    assert_eq!((r.status(), u32_at(&r.body, 4).unwrap()), (status::SUCCESS, 1), "case-insensitive open");
    c.call(command::CLOSE, &close_body(r.file_id(), 0));
    let r = c.create("f.txt", RW, SHARE_ALL, disposition::OVERWRITE, 0);
    assert_eq!((u32_at(&r.body, 4).unwrap(), u64_at(&r.body, 48).unwrap()), (3, 0), "FILE_OVERWRITTEN, truncated");
    c.call(command::CLOSE, &close_body(r.file_id(), 0));
    let r = c.create("f.txt", RW, SHARE_ALL, disposition::SUPERSEDE, 0);
    assert_eq!(u32_at(&r.body, 4).unwrap(), 0, "FILE_SUPERSEDED");
    c.call(command::CLOSE, &close_body(r.file_id(), 0));
    assert_eq!(c.create("nope", RW, SHARE_ALL, disposition::OPEN, 0).status(), status::OBJECT_NAME_NOT_FOUND);
    assert_eq!(c.create("nope", RW, SHARE_ALL, disposition::OVERWRITE, 0).status(), status::OBJECT_NAME_NOT_FOUND);
    assert_eq!(c.create("no\\x", RW, SHARE_ALL, disposition::OPEN_IF, 0).status(), status::OBJECT_PATH_NOT_FOUND);
    assert_eq!(
        c.create("f.txt", RW, SHARE_ALL, disposition::OPEN, options::DIRECTORY_FILE).status(),
        status::NOT_A_DIRECTORY
    );
    let d = c.create("d", RW, SHARE_ALL, disposition::CREATE, options::DIRECTORY_FILE);
    assert_eq!(d.status(), status::SUCCESS);
    c.call(command::CLOSE, &close_body(d.file_id(), 0));
    assert_eq!(
        c.create("d", RW, SHARE_ALL, disposition::OPEN, options::NON_DIRECTORY_FILE).status(),
        status::FILE_IS_A_DIRECTORY
    );
    assert_eq!(c.create("a\\..\\b", RW, SHARE_ALL, disposition::OPEN_IF, 0).status(), status::OBJECT_NAME_INVALID);
}

#[test]
fn query_directory_with_an_exact_name_looks_it_up() {
    let mut c = Client::ready();
    c.put("Report.TXT", b"1");
    for i in 0..40 {
        c.put(&format!("f{i}"), b"x");
    }
    assert_eq!(c.list("", "report.txt").unwrap(), vec!["Report.TXT"]);
    assert_eq!(c.list("", "Report.TXT").unwrap(), vec!["Report.TXT"]);
    assert_eq!(c.list("", "F39").unwrap(), vec!["f39"]);
    assert_eq!(c.list("", "."), Ok(vec![".".to_string()]));
    assert_eq!(c.list("", ".."), Ok(vec!["..".to_string()]));
    assert_eq!(c.list("", "missing"), Err(status::NO_SUCH_FILE));
}

#[test]
fn query_directory_lists_dots_then_entries() {
    let mut c = Client::ready();
    c.put("a.txt", b"1");
    c.put("b.doc", b"22");
    let names = c.list("", "*").unwrap();
    assert_eq!(names, vec![".", "..", "a.txt", "b.doc"]);
    assert_eq!(c.list("", "*.txt").unwrap(), vec!["a.txt"]);
    assert_eq!(c.list("", "?.DOC").unwrap(), vec!["b.doc"]);
    assert_eq!(c.list("", "zzz*"), Err(status::NO_SUCH_FILE));
    // Single entries and restart.
    let fid = c.create("", 0x0010_0081, SHARE_ALL, disposition::OPEN, options::DIRECTORY_FILE).file_id();
    let one = c.call(command::QUERY_DIRECTORY, &query_dir_body(fid, 37, 0x2, "*"));
    assert_eq!(dir_names(&one.body, 104), vec!["."]);
    let rest = c.call(command::QUERY_DIRECTORY, &query_dir_body(fid, 37, 0, "*"));
    assert_eq!(dir_names(&rest.body, 104), vec!["..", "a.txt", "b.doc"]);
    let again = c.call(command::QUERY_DIRECTORY, &query_dir_body(fid, 12, 0x1, "*"));
    assert_eq!(again.status(), status::SUCCESS, "restart scans");
    assert_eq!(c.call(command::QUERY_DIRECTORY, &query_dir_body(fid, 99, 0, "*")).status(), status::INVALID_INFO_CLASS);
}

#[test]
fn rename_with_and_without_replace() {
    let mut c = Client::ready();
    c.put("x", b"x");
    c.put("y", b"yy");
    let d = c.create("dir", RW, SHARE_ALL, disposition::CREATE, options::DIRECTORY_FILE);
    c.call(command::CLOSE, &close_body(d.file_id(), 0));
    let fid = c.create("x", RW | DELETE, SHARE_ALL, disposition::OPEN, 0).file_id();
    let r = c.call(command::SET_INFO, &set_info_body(fid, 10, &rename_info("y", false)));
    assert_eq!(r.status(), status::OBJECT_NAME_COLLISION);
    let r = c.call(command::SET_INFO, &set_info_body(fid, 10, &rename_info("dir\\z", false)));
    assert_eq!(r.status(), status::SUCCESS);
    let r = c.call(command::SET_INFO, &set_info_body(fid, 10, &rename_info("y", true)));
    assert_eq!(r.status(), status::SUCCESS);
    c.call(command::CLOSE, &close_body(fid, 0));
    assert_eq!(c.list("", "*").unwrap(), vec![".", "..", "dir", "y"]);
    let r = c.create("y", RW, SHARE_ALL, disposition::OPEN, 0);
    let rd = c.call(command::READ, &read_body(r.file_id(), 0, 10));
    assert_eq!(&rd.body[16..], b"x", "the renamed file replaced y");
}

/// MS-FSA 2.1.5.15.12: the rename opens its destination directory for
/// FILE_ADD_FILE sharing read and write (note <185>), so an open of that
/// directory that does not share write, or that has DELETE access, makes
/// it a sharing violation (smbtorture smb2.rename.no_share_delete_no_delete_access);
/// a stat-only open of it does not.
#[test]
fn rename_into_a_directory_meets_that_directorys_share_modes() {
    let mut c = Client::ready();
    let pd = c.create("pd", RW, SHARE_ALL, disposition::CREATE, options::DIRECTORY_FILE).file_id();
    c.call(command::CLOSE, &close_body(pd, 0));
    c.put("pd\\f", b"1");
    let f = c.create("pd\\f", RW | DELETE, SHARE_ALL, disposition::OPEN, 0).file_id();
    for (access, share, want) in [
        (RW, 0, status::SHARING_VIOLATION),
        (RW, 0x1 | 0x4, status::SHARING_VIOLATION),
        (0x0001_0080, 0x1 | 0x2, status::SHARING_VIOLATION),
        (0x80, 0, status::SUCCESS),
        (RW, 0x1 | 0x2, status::SUCCESS),
    ] {
        let d = c.create("pd", access, share, disposition::OPEN, options::DIRECTORY_FILE);
        assert_eq!(d.status(), status::SUCCESS);
        let r = c.call(command::SET_INFO, &set_info_body(f, 10, &rename_info("pd\\g", false)));
        assert_eq!(r.status(), want, "directory open with access {access:#x} share {share:#x}");
        if want == status::SUCCESS {
            let back = c.call(command::SET_INFO, &set_info_body(f, 10, &rename_info("pd\\f", false)));
            assert_eq!(back.status(), status::SUCCESS);
        }
        c.call(command::CLOSE, &close_body(d.file_id(), 0));
    }
}

#[test]
fn rename_of_a_directory_with_open_children_is_denied() {
    let mut c = Client::ready();
    let d = c.create("dd", RW | DELETE, SHARE_ALL, disposition::CREATE, options::DIRECTORY_FILE).file_id();
    c.put("dd\\inner", b"1");
    let inner = c.create("dd\\inner", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
    let r = c.call(command::SET_INFO, &set_info_body(d, 10, &rename_info("ee", false)));
    assert_eq!(r.status(), status::ACCESS_DENIED);
    c.call(command::CLOSE, &close_body(inner, 0));
    let r = c.call(command::SET_INFO, &set_info_body(d, 10, &rename_info("ee", false)));
    assert_eq!(r.status(), status::SUCCESS);
}

#[test]
fn delete_on_close_and_disposition() {
    let mut c = Client::ready();
    c.put("gone", b"1");
    let r = c.create("gone", RW | DELETE, SHARE_ALL, disposition::OPEN, options::DELETE_ON_CLOSE);
    assert_eq!(r.status(), status::SUCCESS);
    c.call(command::CLOSE, &close_body(r.file_id(), 0));
    assert_eq!(c.create("gone", RW, SHARE_ALL, disposition::OPEN, 0).status(), status::OBJECT_NAME_NOT_FOUND);
    // DELETE access is required.
    c.put("keep", b"1");
    assert_eq!(
        c.create("keep", RW, SHARE_ALL, disposition::OPEN, options::DELETE_ON_CLOSE).status(),
        status::ACCESS_DENIED
    );
    // A non-empty directory cannot be marked for deletion.
    let d = c.create("d", RW | DELETE, SHARE_ALL, disposition::CREATE, options::DIRECTORY_FILE).file_id();
    c.put("d\\f", b"1");
    let r = c.call(command::SET_INFO, &set_info_body(d, 13, &[1]));
    assert_eq!(r.status(), status::DIRECTORY_NOT_EMPTY);
    c.call(command::CLOSE, &close_body(d, 0));
    // Disposition on a file, with a second open keeping it alive.
    let a = c.create("keep", RW | DELETE, SHARE_ALL, disposition::OPEN, 0).file_id();
    let b = c.create("keep", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
    assert_eq!(c.call(command::SET_INFO, &set_info_body(a, 13, &[1])).status(), status::SUCCESS);
    c.call(command::CLOSE, &close_body(a, 0));
    assert_eq!(c.create("keep", RW, SHARE_ALL, disposition::OPEN, 0).status(), status::DELETE_PENDING);
    c.call(command::CLOSE, &close_body(b, 0));
    assert_eq!(c.create("keep", RW, SHARE_ALL, disposition::OPEN, 0).status(), status::OBJECT_NAME_NOT_FOUND);
}

#[test]
fn sharing_violation() {
    let mut c = Client::ready();
    c.put("s", b"1");
    let a = c.create("s", RW, 0, disposition::OPEN, 0);
    assert_eq!(a.status(), status::SUCCESS);
    assert_eq!(c.create("s", 0x0012_0089, SHARE_ALL, disposition::OPEN, 0).status(), status::SHARING_VIOLATION);
    c.call(command::CLOSE, &close_body(a.file_id(), 0));
    assert_eq!(c.create("s", 0x0012_0089, SHARE_ALL, disposition::OPEN, 0).status(), status::SUCCESS);
}

#[test]
fn streams() {
    let mut c = Client::ready();
    c.put("base", b"main");
    c.put("base:alt", b"side");
    let r = c.create("base:alt:$DATA", RW, SHARE_ALL, disposition::OPEN, 0);
    assert_eq!(r.status(), status::SUCCESS);
    let rd = c.call(command::READ, &read_body(r.file_id(), 0, 10));
    assert_eq!(&rd.body[16..], b"side");
    let r = c.create("base::$DATA", RW, SHARE_ALL, disposition::OPEN, 0);
    let rd = c.call(command::READ, &read_body(r.file_id(), 0, 10));
    assert_eq!(&rd.body[16..], b"main");
    assert_eq!(c.create("base:nope", RW, SHARE_ALL, disposition::OPEN, 0).status(), status::OBJECT_NAME_NOT_FOUND);
}

/// CREATE + QUERY_INFO + CLOSE, related, as smbclient sends them.
fn compound(c: &mut Client, name: &str) -> Vec<Resp> {
    let mut m = raw_header(command::CREATE, c.mid, c.session, c.tree, 0);
    let mxac_qfid = {
        let mut v = Vec::new();
        // MxAc (no data), Next = 24
        v.extend_from_slice(&24u32.to_le_bytes());
        v.extend_from_slice(&[16, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        v.extend_from_slice(b"MxAc");
        v.extend_from_slice(&[0; 4]);
        // QFid (no data), last
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&[16, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        v.extend_from_slice(b"QFid");
        v.extend_from_slice(&[0; 4]);
        v
    };
    m.extend_from_slice(&create_body(name, 0x0012_0089, SHARE_ALL, disposition::OPEN, 0, &mxac_qfid));
    while m.len() % 8 != 0 {
        m.push(0);
    }
    let first = m.len() as u32;
    m[20..24].copy_from_slice(&first.to_le_bytes());
    let q_start = m.len();
    m.extend_from_slice(&raw_header(command::QUERY_INFO, c.mid + 1, c.session, c.tree, FLAG_RELATED));
    m.extend_from_slice(&query_info_body(FileId::RELATED, 1, 5)); // FileStandardInformation
    while m.len() % 8 != 0 {
        m.push(0);
    }
    let second = (m.len() - q_start) as u32;
    m[q_start + 20..q_start + 24].copy_from_slice(&second.to_le_bytes());
    m.extend_from_slice(&raw_header(command::CLOSE, c.mid + 2, c.session, c.tree, FLAG_RELATED));
    m.extend_from_slice(&close_body(FileId::RELATED, 0));
    c.mid += 3;
    c.send_raw(&m).remove(0)
}

#[test]
fn compound_create_query_close() {
    let mut c = Client::ready();
    c.put("c.txt", b"12345");
    let r = compound(&mut c, "c.txt");
    assert_eq!(r.len(), 3);
    assert!(r.iter().all(|e| e.status() == status::SUCCESS), "{:?}", r.iter().map(|e| e.status()).collect::<Vec<_>>());
    assert_eq!(r[1].hdr.flags & FLAG_RELATED, FLAG_RELATED);
    assert_eq!(u64_at(&r[1].body, 8 + 8).unwrap(), 5, "EndOfFile from FileStandardInformation");
    // The create response carries MxAc then QFid.
    let ctx_len = u32_at(&r[0].body, 84).unwrap();
    assert!(ctx_len >= 24 + 48, "two response contexts");
    let missing = compound(&mut c, "missing");
    assert!(missing.iter().all(|e| e.status() == status::OBJECT_NAME_NOT_FOUND));
}

/// READ, WRITE and FLUSH inside a related compound run at once, in their
/// place in the chain (no storage request is handed out): the READ sees the
/// WRITE before it.
#[test]
fn data_operations_inside_a_compound_run_in_order() {
    let mut c = Client::ready();
    c.put("k.txt", b"");
    let chain = [
        (command::CREATE, create_body("k.txt", RW, SHARE_ALL, disposition::OPEN, 0, &[])),
        (command::WRITE, write_body(FileId::RELATED, 0, b"chained")),
        (command::FLUSH, {
            let mut b = vec![24, 0, 0, 0, 0, 0, 0, 0];
            FileId::RELATED.encode(&mut b);
            b
        }),
        (command::READ, read_body(FileId::RELATED, 0, 100)),
        (command::CLOSE, close_body(FileId::RELATED, 0)),
    ];
    let framed = crate::testing::smb_client::related_chain(&chain, c.mid, c.session, c.tree);
    c.mid += chain.len() as u64;
    c.server.handle_input(c.conn, &framed, c.now);
    let Some(Output::Transmit { data, .. }) = c.server.poll_output() else { panic!("no compound response") };
    assert!(c.server.poll_output().is_none(), "no storage request: the chain ran in place");
    let r = split(&data);
    assert_eq!(r.iter().map(Resp::status).collect::<Vec<_>>(), vec![status::SUCCESS; 5]);
    assert_eq!(u32_at(&r[1].body, 4).unwrap(), 7, "WRITE Count");
    assert_eq!(&r[3].body[16..23], b"chained", "READ data");
}

#[test]
fn foreign_file_ids_are_closed() {
    let mut a = Client::ready();
    a.put("f", b"1");
    let fid = a.create("f", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
    let bogus = FileId { persistent: fid.persistent, volatile: fid.volatile + 100 };
    assert_eq!(a.call(command::READ, &read_body(bogus, 0, 1)).status(), status::FILE_CLOSED);
    // The same FileId on another tree of the session is not found either.
    let t2 = a.tree_connect("\\\\x\\share");
    let old = a.tree;
    a.tree = t2.hdr.tree_id;
    assert_eq!(a.call(command::READ, &read_body(fid, 0, 1)).status(), status::FILE_CLOSED);
    a.tree = old;
    assert_eq!(a.call(command::READ, &read_body(fid, 0, 1)).status(), status::SUCCESS);
}

#[test]
fn query_info_classes() {
    let mut c = Client::ready();
    c.put("q", b"abc");
    let fid = c.create("q", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
    for class in [4u8, 5, 6, 7, 8, 14, 16, 18, 22, 34, 35] {
        let r = c.call(command::QUERY_INFO, &query_info_body(fid, 1, class));
        assert_eq!(r.status(), status::SUCCESS, "file class {class}");
    }
    for class in [1u8, 3, 4, 5, 7, 11] {
        let r = c.call(command::QUERY_INFO, &query_info_body(fid, 2, class));
        assert_eq!(r.status(), status::SUCCESS, "fs class {class}");
    }
    assert_eq!(c.call(command::QUERY_INFO, &query_info_body(fid, 3, 0)).status(), status::SUCCESS);
    assert_eq!(c.call(command::QUERY_INFO, &query_info_body(fid, 4, 0)).status(), status::NOT_SUPPORTED);
    // EndOfFile via SET_INFO.
    let r = c.call(command::SET_INFO, &set_info_body(fid, 20, &10u64.to_le_bytes()));
    assert_eq!(r.status(), status::SUCCESS);
    let r = c.call(command::QUERY_INFO, &query_info_body(fid, 1, 5));
    assert_eq!(u64_at(&r.body, 8 + 8).unwrap(), 10);
}

#[test]
fn echo_cancel_and_unsupported_commands() {
    let mut c = Client::ready();
    assert_eq!(c.call(command::ECHO, &[4, 0, 0, 0]).status(), status::SUCCESS);
    // CANCEL of nothing gets no response and consumes no MessageId.
    let m = raw_header(command::CANCEL, c.mid, c.session, 0, 0);
    let mut m = m;
    m.extend_from_slice(&[4, 0, 0, 0]);
    assert!(c.send_raw(&m).is_empty());
    let fid = c.create("", 0x0010_0081, SHARE_ALL, disposition::OPEN, options::DIRECTORY_FILE).file_id();
    let notify = fid_body(32, fid, 8, &[0; 8]);
    assert_eq!(c.call(command::CHANGE_NOTIFY, &notify).status(), status::PENDING, "waits for a change");
    let brk = fid_body(24, fid, 8, &[]);
    assert_eq!(c.call(command::OPLOCK_BREAK, &brk).status(), status::INVALID_OPLOCK_PROTOCOL);
    let mut ioctl = vec![57, 0, 0, 0];
    ioctl.extend_from_slice(&0x0014_01FCu32.to_le_bytes());
    FileId::RELATED.encode(&mut ioctl);
    ioctl.extend_from_slice(&[0; 16]);
    ioctl.extend_from_slice(&[0, 0, 1, 0]); // MaxOutputResponse 65536
    ioctl.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]); // IS_FSCTL
    assert_eq!(c.call(command::IOCTL, &ioctl).status(), status::NOT_SUPPORTED);
}

#[test]
fn read_only_share_refuses_writes() {
    let mut cfg = Config::default();
    cfg.smb.shares[0].read_only = true;
    let mut c = Client::with_config(cfg);
    c.login_anonymous();
    let t = c.tree_connect("\\\\x\\share");
    assert_eq!(u32_at(&t.body, 12).unwrap(), 0x0012_00A9);
    c.tree = t.hdr.tree_id;
    assert_eq!(c.create("n", RW, SHARE_ALL, disposition::CREATE, 0).status(), status::ACCESS_DENIED);
    assert_eq!(c.create("", 0x0012_0089, SHARE_ALL, disposition::OPEN, 0).status(), status::SUCCESS);
}

#[test]
fn guest_refused_on_non_guest_share() {
    let mut cfg = Config::default();
    cfg.smb.shares[0].guest_ok = false;
    let mut c = Client::with_config(cfg);
    c.login_anonymous();
    assert_eq!(c.tree_connect("\\\\x\\share").status(), status::ACCESS_DENIED);
}

#[test]
fn logoff_releases_opens_and_session() {
    let mut c = Client::ready();
    c.put("l", b"1");
    let fid = c.create("l", RW, 0, disposition::OPEN, 0).file_id();
    assert_eq!(c.call(command::LOGOFF, &[4, 0, 0, 0]).status(), status::SUCCESS);
    assert_eq!(c.call(command::READ, &read_body(fid, 0, 1)).status(), status::USER_SESSION_DELETED);
    // The exclusive open went with the session: a new session may open it.
    c.session = 0;
    c.tree = 0;
    let r = c.session_setup(&ntlm_negotiate());
    c.session = r.hdr.session_id;
    assert_eq!(c.session_setup(&ntlm_anonymous_authenticate()).status(), status::SUCCESS);
    let t = c.tree_connect("\\\\x\\share");
    c.tree = t.hdr.tree_id;
    assert_eq!(c.create("l", RW, 0, disposition::OPEN, 0).status(), status::SUCCESS);
}

#[test]
fn pended_request_gets_interim_then_cancelled() {
    let mut c = Client::ready();
    let interim = c.create("__pend__", RW, SHARE_ALL, disposition::OPEN_IF, 0);
    assert_eq!(interim.status(), status::PENDING);
    assert_eq!(interim.hdr.flags & 0x3, 0x3, "SERVER_TO_REDIR | ASYNC");
    assert_ne!(interim.hdr.async_id, 0);
    assert!(interim.hdr.credits >= 1, "the interim response grants the credits");
    // CANCEL by AsyncId: no response to CANCEL itself, the request completes.
    let mut m = raw_header(command::CANCEL, interim.hdr.message_id, c.session, 0, 0x2);
    m[32..40].copy_from_slice(&interim.hdr.async_id.to_le_bytes());
    m.extend_from_slice(&[4, 0, 0, 0]);
    let out = c.send_raw(&m);
    assert_eq!(out.len(), 1);
    let fin = &out[0][0];
    assert_eq!((fin.status(), fin.hdr.async_id, fin.hdr.credits), (status::CANCELLED, interim.hdr.async_id, 0));
    assert_eq!(fin.hdr.message_id, interim.hdr.message_id);
    // A second CANCEL finds nothing.
    assert!(c.send_raw(&m).is_empty());
    // Sync CANCEL by MessageId.
    let interim = c.create("__pend__", RW, SHARE_ALL, disposition::OPEN_IF, 0);
    let mut m = raw_header(command::CANCEL, interim.hdr.message_id, c.session, 0, 0);
    m.extend_from_slice(&[4, 0, 0, 0]);
    assert_eq!(c.send_raw(&m)[0][0].status(), status::CANCELLED);
}

quickcheck::quickcheck! {
    fn random_frames_never_panic(frames: Vec<Vec<u8>>) -> bool {
        let mut c = Client::ready();
        for f in frames {
            let mut m = raw_header(command::CREATE, c.mid, c.session, c.tree, 0);
            c.mid += 1;
            if let Some(cmd) = f.first() {
                m[12] = cmd % 0x14;
            }
            m.extend_from_slice(&f);
            c.send_raw(&m);
            if c.closed {
                break;
            }
        }
        true
    }
}

mod lease;

mod limits;

mod session;

mod encryption;

mod pipe;

mod reconfigure;

mod binding;

mod snapshot;

#[test]
fn request_latency_runs_from_receipt_to_the_final_reply() {
    let mut c = Client::ready();
    let t0 = c.now;
    let ms = Duration::from_millis;
    let timed = |c: &Client, cmd: u16| {
        let h = c.server.stats().smb_latency[usize::from(cmd)];
        (h.count(), h.sum)
    };
    let sync = |c: &mut Client, cmd: u16, body: &[u8], received: Instant, now: Instant| {
        let mut m = raw_header(cmd, c.mid, c.session, c.tree, 0);
        c.mid += 1;
        m.extend_from_slice(body);
        c.server.handle_frame_received(c.conn, m.into(), received, now);
        let mut replies = 0;
        while let Some(o) = c.server.poll_output_io_inline(now) {
            replies += usize::from(matches!(o, Output::Transmit { .. }));
        }
        replies
    };
    // An ECHO the adapter read 4 ms before the core took it: answered at
    // once, timed from the read.
    let echoes = timed(&c, command::ECHO);
    assert_eq!(sync(&mut c, command::ECHO, &[4, 0, 0, 0], t0, t0 + ms(4)), 1);
    assert_eq!(timed(&c, command::ECHO), (echoes.0 + 1, echoes.1 + ms(4)));

    // A WRITE whose storage completes 30 ms after it arrived: timed until
    // the completion, not until the core handed the storage request out.
    let fid = c.create("timed", RW, SHARE_ALL, disposition::OVERWRITE_IF, options::NON_DIRECTORY_FILE).file_id();
    let writes = timed(&c, command::WRITE);
    let mut m = raw_header(command::WRITE, c.mid, c.session, c.tree, 0);
    c.mid += 1;
    m.extend_from_slice(&write_body(fid, 0, b"abc"));
    c.server.handle_frame(c.conn, m.into(), c.now);
    let Some(Output::Io(req)) = c.server.poll_output() else { panic!("the write goes to storage") };
    assert_eq!(timed(&c, command::WRITE), writes, "not answered yet");
    c.server.handle_io(req.run(), c.now + ms(30));
    assert!(matches!(c.server.poll_output(), Some(Output::Transmit { .. })));
    assert_eq!(timed(&c, command::WRITE), (writes.0 + 1, writes.1 + ms(30)));

    // A CHANGE_NOTIFY's interim response ends nothing; CANCEL is not timed,
    // and the cancelled request's final reply ends it.
    let dir = c.create("", 0x0010_0081, SHARE_ALL, disposition::OPEN, options::DIRECTORY_FILE).file_id();
    let notifies = timed(&c, command::CHANGE_NOTIFY);
    let notify_mid = c.mid;
    assert_eq!(sync(&mut c, command::CHANGE_NOTIFY, &fid_body(32, dir, 8, &[0; 8]), t0, t0), 1);
    assert_eq!(timed(&c, command::CHANGE_NOTIFY), notifies, "only the interim response went");
    let mut cancel = raw_header(command::CANCEL, notify_mid, c.session, 0, 0);
    cancel.extend_from_slice(&[4, 0, 0, 0]);
    c.server.handle_frame(c.conn, cancel.into(), c.now + ms(7));
    while c.server.poll_output_io_inline(c.now + ms(7)).is_some() {}
    assert_eq!(timed(&c, command::CHANGE_NOTIFY), (notifies.0 + 1, notifies.1 + ms(7)));
    assert_eq!(timed(&c, command::CANCEL).0, 0);
}

mod ea;
mod sparse;
mod streams;
mod write_time;
