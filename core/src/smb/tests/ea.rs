//! Extended attributes over SMB on MemoryFs (handlers/ea.rs): SET_INFO
//! and QUERY_INFO of FileFullEaInformation, named and indexed queries, the
//! per-open enumeration, short buffers, access, the ExtA create context
//! and the EaSize the other classes report.

use super::*;
use crate::smb::fscc::ea::{EaEntry, decode_full_ea_list};
use crate::smb::wire::create_context::{CreateContext, encode_request_contexts};

const FILE_READ_EA: u32 = 0x8;
const FILE_WRITE_EA: u32 = 0x10;
const FILE_WRITE_DATA: u32 = 0x2;
const SL_RESTART_SCAN: u32 = 0x1;
const SL_RETURN_SINGLE_ENTRY: u32 = 0x2;
const SL_INDEX_SPECIFIED: u32 = 0x4;

/// A FILE_FULL_EA_INFORMATION list of (name, value), 4-byte aligned.
fn full_list(eas: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    for (i, (name, value)) in eas.iter().enumerate() {
        let start = b.len();
        b.extend_from_slice(&[0; 4]);
        b.push(0);
        b.push(name.len() as u8);
        b.extend_from_slice(&(value.len() as u16).to_le_bytes());
        b.extend_from_slice(name.as_bytes());
        b.push(0);
        b.extend_from_slice(value);
        if i + 1 < eas.len() {
            b.resize(b.len().next_multiple_of(4), 0);
            let next = (b.len() - start) as u32;
            b[start..start + 4].copy_from_slice(&next.to_le_bytes());
        }
    }
    b
}

/// A FILE_GET_EA_INFORMATION list of `names`.
fn get_list(names: &[&str]) -> Vec<u8> {
    let mut b = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let start = b.len();
        b.extend_from_slice(&[0; 4]);
        b.push(name.len() as u8);
        b.extend_from_slice(name.as_bytes());
        b.push(0);
        if i + 1 < names.len() {
            b.resize(b.len().next_multiple_of(4), 0);
            let next = (b.len() - start) as u32;
            b[start..start + 4].copy_from_slice(&next.to_le_bytes());
        }
    }
    b
}

/// QUERY_INFO FileFullEaInformation (MS-SMB2 2.2.37) with the output
/// length, flags, AdditionalInformation (EaIndex) and input buffer given.
fn query_body(fid: FileId, max: u32, flags: u32, index: u32, input: &[u8]) -> Vec<u8> {
    let mut b = vec![41, 0, 1, 15];
    b.extend_from_slice(&max.to_le_bytes());
    let off: u16 = if input.is_empty() { 0 } else { 104 };
    b.extend_from_slice(&off.to_le_bytes());
    b.extend_from_slice(&[0; 2]);
    b.extend_from_slice(&(input.len() as u32).to_le_bytes());
    b.extend_from_slice(&index.to_le_bytes());
    b.extend_from_slice(&flags.to_le_bytes());
    fid.encode(&mut b);
    if input.is_empty() {
        b.push(0);
    }
    b.extend_from_slice(input);
    b
}

/// The status and (name, value) entries of a FileFullEaInformation query.
fn query(c: &mut Client, fid: FileId, max: u32, flags: u32, index: u32, input: &[u8]) -> (u32, Vec<(String, Vec<u8>)>) {
    let r = c.call(command::QUERY_INFO, &query_body(fid, max, flags, index, input));
    // Only these carry data (MS-SMB2 3.3.4.4); the other warnings
    // (NO_MORE_EAS, INVALID_EA_NAME) come as error responses.
    if ![status::SUCCESS, status::BUFFER_OVERFLOW].contains(&r.status()) {
        return (r.status(), Vec::new());
    }
    let off = u16_at(&r.body, 2).unwrap() as usize - 64;
    let len = u32_at(&r.body, 4).unwrap() as usize;
    assert!(len <= max as usize, "within OutputBufferLength");
    let entries = decode_full_ea_list(&r.body[off..off + len]).unwrap();
    (r.status(), entries.into_iter().map(|EaEntry { name, value, .. }| (name, value)).collect())
}

fn all(c: &mut Client, fid: FileId) -> (u32, Vec<(String, Vec<u8>)>) {
    query(c, fid, 4096, SL_RESTART_SCAN, 0, &[])
}

fn set(c: &mut Client, fid: FileId, eas: &[(&str, &[u8])]) -> u32 {
    c.call(command::SET_INFO, &set_info_body(fid, 15, &full_list(eas))).status()
}

/// FileEaInformation's EaSize.
fn ea_size(c: &mut Client, fid: FileId) -> u32 {
    let r = c.call(command::QUERY_INFO, &query_info_body(fid, 1, 7));
    assert_eq!(r.status(), status::SUCCESS);
    let off = u16_at(&r.body, 2).unwrap() as usize - 64;
    u32_at(&r.body, off).unwrap()
}

fn open(c: &mut Client, name: &str, access: u32) -> FileId {
    let r = c.create(name, access, SHARE_ALL, disposition::OPEN_IF, 0);
    assert_eq!(r.status(), status::SUCCESS, "open {name}");
    r.file_id()
}

fn owned(eas: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    eas.iter().map(|(n, v)| (n.to_string(), v.to_vec())).collect()
}

#[test]
fn set_query_replace_and_delete() {
    let mut c = Client::ready();
    let fid = open(&mut c, "f", RW);
    assert_eq!(all(&mut c, fid), (status::NO_EAS_ON_FILE, vec![]));
    assert_eq!(ea_size(&mut c, fid), 0);
    assert_eq!(set(&mut c, fid, &[("EAONE", b"VALUE1"), ("SecondEa", b"ValueTwo")]), status::SUCCESS);
    // Names come back upper-cased, as NTFS keeps them.
    assert_eq!(all(&mut c, fid), (status::SUCCESS, owned(&[("EAONE", b"VALUE1"), ("SECONDEA", b"ValueTwo")])));
    // MS-FSA 2.1.5.12.11: the packed size (4 + 5 + 1 + 6, 4 + 8 + 1 + 8)
    // plus 4.
    assert_eq!(ea_size(&mut c, fid), 16 + 21 + 4);
    // A name in another case replaces the EA; an empty value deletes;
    // deleting a missing one is no error.
    assert_eq!(set(&mut c, fid, &[("secondea", b"2"), ("eaone", b""), ("NONE", b"")]), status::SUCCESS);
    assert_eq!(all(&mut c, fid), (status::SUCCESS, owned(&[("SECONDEA", b"2")])));
    // FileAllInformation carries the same EaSize (after Basic 40,
    // Standard 24, Internal 8).
    let r = c.call(command::QUERY_INFO, &query_info_body(fid, 1, 18));
    let off = u16_at(&r.body, 2).unwrap() as usize - 64;
    assert_eq!(u32_at(&r.body, off + 72).unwrap(), 4 + 8 + 1 + 1 + 4);
    assert_eq!(set(&mut c, fid, &[("SECONDEA", b"")]), status::SUCCESS);
    assert_eq!(all(&mut c, fid), (status::NO_EAS_ON_FILE, vec![]));
    // A new open sees what another set; they outlive the opens.
    set(&mut c, fid, &[("KEPT", b"k")]);
    c.call(command::CLOSE, &close_body(fid, 0));
    let fid = open(&mut c, "f", FILE_READ_EA);
    assert_eq!(all(&mut c, fid), (status::SUCCESS, owned(&[("KEPT", b"k")])));
}

#[test]
fn bad_lists_names_sizes_and_access() {
    let mut c = Client::ready();
    let fid = open(&mut c, "f", RW);
    assert_eq!(set(&mut c, fid, &[("A:B", b"v")]), status::INVALID_EA_NAME);
    let mut flags = full_list(&[("A", b"v")]);
    flags[4] = 0x01;
    assert_eq!(c.call(command::SET_INFO, &set_info_body(fid, 15, &flags)).status(), status::INVALID_EA_NAME);
    let cut = full_list(&[("A", b"value")]);
    let r = c.call(command::SET_INFO, &set_info_body(fid, 15, &cut[..cut.len() - 1]));
    assert_eq!(r.status(), status::EA_LIST_INCONSISTENT);
    // MS-FSA 2.1.5.15.6: 64 KiB - 5 of packed EAs at most; nothing of a
    // refused list is kept.
    let big = vec![7u8; 40_000];
    assert_eq!(set(&mut c, fid, &[("SMALL", b"s"), ("ONE", &big), ("TWO", &big)]), status::EA_TOO_LARGE);
    assert_eq!(all(&mut c, fid), (status::NO_EAS_ON_FILE, vec![]));
    assert_eq!(set(&mut c, fid, &[("ONE", &big)]), status::SUCCESS);
    assert_eq!(set(&mut c, fid, &[("TWO", &big)]), status::EA_TOO_LARGE);
    assert_eq!(set(&mut c, fid, &[("ONE", b""), ("TWO", &big)]), status::SUCCESS, "the set, not each step");
    // FILE_WRITE_EA to set, FILE_READ_EA to query.
    let reader = open(&mut c, "f", FILE_READ_EA);
    assert_eq!(set(&mut c, reader, &[("X", b"x")]), status::ACCESS_DENIED);
    let writer = open(&mut c, "f", FILE_WRITE_EA);
    assert_eq!(set(&mut c, writer, &[("X", b"x")]), status::SUCCESS);
    assert_eq!(all(&mut c, writer).0, status::ACCESS_DENIED);
    let (s, got) = query(&mut c, reader, 65_536, SL_RESTART_SCAN, 0, &[]);
    assert_eq!((s, got.len(), got[0].1.len()), (status::SUCCESS, 2, big.len()));
}

#[test]
fn named_indexed_and_continued_queries() {
    let mut c = Client::ready();
    let fid = open(&mut c, "f", RW);
    set(&mut c, fid, &[("A1", b"one"), ("B2", b"two"), ("C3", b"three")]);
    // Named: in the order asked, any case; one not set comes back empty.
    let (s, got) = query(&mut c, fid, 4096, 0, 0, &get_list(&["c3", "MISSING", "A1"]));
    assert_eq!((s, got), (status::SUCCESS, owned(&[("C3", b"three"), ("MISSING", b""), ("A1", b"one")])));
    assert_eq!(query(&mut c, fid, 4096, 0, 0, &get_list(&["A*"])).0, status::INVALID_EA_NAME);
    // Indexed (1-based, AdditionalInformation).
    assert_eq!(query(&mut c, fid, 4096, SL_INDEX_SPECIFIED, 2, &[]).1, owned(&[("B2", b"two"), ("C3", b"three")]));
    assert_eq!(query(&mut c, fid, 4096, SL_INDEX_SPECIFIED, 0, &[]).0, status::NONEXISTENT_EA_ENTRY);
    assert_eq!(query(&mut c, fid, 4096, SL_INDEX_SPECIFIED, 4, &[]).0, status::NONEXISTENT_EA_ENTRY);
    // Continued: one entry at a time, then the end, then from the start.
    let one = query(&mut c, fid, 4096, SL_RESTART_SCAN | SL_RETURN_SINGLE_ENTRY, 0, &[]);
    assert_eq!(one, (status::SUCCESS, owned(&[("A1", b"one")])));
    assert_eq!(query(&mut c, fid, 4096, SL_RETURN_SINGLE_ENTRY, 0, &[]).1, owned(&[("B2", b"two")]));
    assert_eq!(query(&mut c, fid, 4096, 0, 0, &[]), (status::SUCCESS, owned(&[("C3", b"three")])));
    assert_eq!(query(&mut c, fid, 4096, 0, 0, &[]).0, status::NO_MORE_EAS);
    assert_eq!(all(&mut c, fid).1.len(), 3);
    // Short buffers: whole entries only (the first is 8 + 2 + 1 + 3 = 14
    // bytes), BUFFER_OVERFLOW when more remain, BUFFER_TOO_SMALL for none;
    // the next query goes on where the last stopped.
    assert_eq!(query(&mut c, fid, 13, SL_RESTART_SCAN, 0, &[]).0, status::BUFFER_TOO_SMALL);
    assert_eq!(query(&mut c, fid, 20, SL_RESTART_SCAN, 0, &[]), (status::BUFFER_OVERFLOW, owned(&[("A1", b"one")])));
    assert_eq!(query(&mut c, fid, 4096, 0, 0, &[]).1, owned(&[("B2", b"two"), ("C3", b"three")]));
    // Each open enumerates on its own.
    let other = open(&mut c, "f", FILE_READ_EA);
    assert_eq!(query(&mut c, other, 4096, 0, 0, &[]).1.len(), 3);
}

#[test]
fn create_context_sets_new_and_overwritten_files_and_streams_reach_the_file() {
    let mut c = Client::ready();
    let exta = |eas: &[(&str, &[u8])]| {
        let mut b = Vec::new();
        encode_request_contexts(&[CreateContext::ExtendedAttributes(full_list(eas).into())], &mut b);
        b
    };
    let create = |c: &mut Client, name: &str, disp: u32, opts: u32, ctx: &[u8]| {
        c.call(command::CREATE, &create_body(name, RW | DELETE, SHARE_ALL, disp, opts, ctx))
    };
    let r = create(&mut c, "new", disposition::CREATE, 0, &exta(&[("EAONE", b"1"), ("EATWO", b"2")]));
    assert_eq!(r.status(), status::SUCCESS);
    let fid = r.file_id();
    assert_eq!(all(&mut c, fid).1, owned(&[("EAONE", b"1"), ("EATWO", b"2")]));
    c.call(command::CLOSE, &close_body(fid, 0));
    // An open of an existing file ignores them; an overwrite replaces them.
    let fid = create(&mut c, "new", disposition::OPEN_IF, 0, &exta(&[("OTHER", b"x")])).file_id();
    assert_eq!(all(&mut c, fid).1.len(), 2);
    c.call(command::CLOSE, &close_body(fid, 0));
    let fid = create(&mut c, "new", disposition::OVERWRITE_IF, 0, &exta(&[("eaone", b"new")])).file_id();
    assert_eq!(all(&mut c, fid).1, owned(&[("EAONE", b"new")]));
    // A directory keeps them too, and its listing reports EaSize
    // (FileIdBothDirectoryInformation: at 64 in the entry).
    let r = create(&mut c, "d", disposition::CREATE, options::DIRECTORY_FILE, &exta(&[("DIREA", b"dd")]));
    assert_eq!(r.status(), status::SUCCESS);
    let dir = r.file_id();
    assert_eq!(all(&mut c, dir).1, owned(&[("DIREA", b"dd")]));
    let r = c.call(command::QUERY_DIRECTORY, &query_dir_body(dir, 37, 0, "."));
    let off = u16_at(&r.body, 2).unwrap() as usize - 64;
    assert_eq!(u32_at(&r.body, off + 64).unwrap(), 4 + 5 + 1 + 2 + 4, "EaSize of \".\"");
    let root = c.create("", 0x0010_0081, SHARE_ALL, disposition::OPEN, options::DIRECTORY_FILE).file_id();
    let r = c.call(command::QUERY_DIRECTORY, &query_dir_body(root, 37, 0, "new"));
    let off = u16_at(&r.body, 2).unwrap() as usize - 64;
    assert_eq!(u32_at(&r.body, off + 64).unwrap(), ea_size(&mut c, fid));
    assert_eq!(ea_size(&mut c, fid), 4 + 5 + 1 + 3 + 4);
    // A malformed or oversized list fails the CREATE before anything is made.
    let r = create(&mut c, "bad", disposition::CREATE, 0, &exta(&[("A?", b"v")]));
    assert_eq!(r.status(), status::INVALID_EA_NAME);
    let big = vec![1u8; 40_000];
    let r = create(&mut c, "bad", disposition::CREATE, 0, &exta(&[("A", &big), ("B", &big)]));
    assert_eq!(r.status(), status::EA_TOO_LARGE);
    assert_eq!(c.create("bad", RW, SHARE_ALL, disposition::OPEN, 0).status(), status::OBJECT_NAME_NOT_FOUND);
    // An EA set through a stream open is its file's.
    let s = create(&mut c, "new:strm", disposition::OPEN_IF, 0, &[]).file_id();
    assert_eq!(set(&mut c, s, &[("VIASTREAM", b"s")]), status::SUCCESS);
    assert_eq!(all(&mut c, fid).1, owned(&[("EAONE", b"new"), ("VIASTREAM", b"s")]));
}

/// EA names as NTFS keeps them: stored and answered upper-cased, found in
/// any case. One stored in another case (smbd keeps a client's case in
/// `user.<name>`) is found and shown upper-cased, left as stored until a
/// client sets or removes it, which stores it upper-cased (of two stored
/// names differing only in case, the first shows; setting it replaces
/// both).
#[test]
fn names_are_upper_cased_and_found_in_any_case() {
    let mut c = Client::ready();
    let fid = open(&mut c, "f", RW);
    assert_eq!(set(&mut c, fid, &[("mixed.Case", b"1")]), status::SUCCESS);
    let vfs = c.server.vfs();
    let id = vfs.lookup(vfs.root(), "f").unwrap().id;
    assert_eq!(vfs.eas(id).unwrap(), owned(&[("MIXED.CASE", b"1")]), "stored upper-cased");
    let now = crate::time::Timespec::new(1, 0);
    for (name, value) in [("samba.Name", &b"s"[..]), ("other", b"o"), ("OTHER", b"O")] {
        vfs.set_ea(id, name, value, now).unwrap();
    }
    let shown = owned(&[("MIXED.CASE", b"1"), ("SAMBA.NAME", b"s"), ("OTHER", b"o")]);
    assert_eq!(all(&mut c, fid), (status::SUCCESS, shown));
    let (s, got) = query(&mut c, fid, 4096, 0, 0, &get_list(&["SAMBA.name", "Mixed.case"]));
    assert_eq!((s, got), (status::SUCCESS, owned(&[("SAMBA.NAME", b"s"), ("MIXED.CASE", b"1")])));
    // EaSize counts one EA per name.
    assert_eq!(ea_size(&mut c, fid), 4 + (4 + 10 + 1 + 1) * 2 + (4 + 5 + 1 + 1));
    // Setting one EA leaves the others as stored.
    assert_eq!(set(&mut c, fid, &[("Samba.Name", b"new")]), status::SUCCESS);
    let vfs = c.server.vfs();
    let stored = owned(&[("MIXED.CASE", b"1"), ("other", b"o"), ("OTHER", b"O"), ("SAMBA.NAME", b"new")]);
    assert_eq!(vfs.eas(id).unwrap(), stored);
    assert_eq!(set(&mut c, fid, &[("Other", b"2")]), status::SUCCESS);
    let vfs = c.server.vfs();
    assert_eq!(vfs.eas(id).unwrap(), owned(&[("MIXED.CASE", b"1"), ("OTHER", b"2"), ("SAMBA.NAME", b"new")]));
    assert_eq!(set(&mut c, fid, &[("other", b"")]), status::SUCCESS);
    let vfs = c.server.vfs();
    assert_eq!(vfs.eas(id).unwrap(), owned(&[("MIXED.CASE", b"1"), ("SAMBA.NAME", b"new")]));
}

/// The ExtA context's access rules (MS-SMB2 2.2.13, MS-FSA 2.1.5.1.2): a
/// CREATE with FILE_NO_EA_KNOWLEDGE may not carry EAs; an overwrite of a
/// file (which replaces its EAs, with an ExtA context's or none) needs
/// FILE_WRITE_EA and FILE_WRITE_ATTRIBUTES on it besides FILE_WRITE_DATA,
/// asked for or not; a new file takes its EAs whatever was asked.
#[test]
fn create_context_access_rules() {
    use crate::smb::fscc::security_descriptor::{ACCESS_ALLOWED_ACE_TYPE, Ace, Acl, SE_DACL_PRESENT};
    use crate::smb::fscc::{SecurityDescriptor, Sid};
    const NO_EA_KNOWLEDGE: u32 = 0x200;
    let mut c = Client::ready();
    let exta = |eas: &[(&str, &[u8])]| {
        let mut b = Vec::new();
        encode_request_contexts(&[CreateContext::ExtendedAttributes(full_list(eas).into())], &mut b);
        b
    };
    let create = |c: &mut Client, name: &str, access: u32, disp: u32, opts: u32, ctx: &[u8]| {
        c.call(command::CREATE, &create_body(name, access, SHARE_ALL, disp, opts, ctx))
    };
    let r = create(&mut c, "n", RW, disposition::CREATE, NO_EA_KNOWLEDGE, &exta(&[("A", b"1")]));
    assert_eq!(r.status(), status::ACCESS_DENIED);
    assert_eq!(c.create("n", RW, SHARE_ALL, disposition::OPEN, 0).status(), status::OBJECT_NAME_NOT_FOUND);
    let r = create(&mut c, "n", RW, disposition::CREATE, NO_EA_KNOWLEDGE, &[]);
    assert_eq!(r.status(), status::SUCCESS, "without EAs");
    c.call(command::CLOSE, &close_body(r.file_id(), 0));
    // A new file: FILE_WRITE_DATA alone is asked, the EAs are kept.
    let r = create(&mut c, "w", FILE_WRITE_DATA, disposition::CREATE, 0, &exta(&[("NEW", b"1")]));
    assert_eq!(r.status(), status::SUCCESS);
    c.call(command::CLOSE, &close_body(r.file_id(), 0));
    let fid = open(&mut c, "w", FILE_READ_EA);
    assert_eq!(all(&mut c, fid).1, owned(&[("NEW", b"1")]));
    c.call(command::CLOSE, &close_body(fid, 0));
    // A DACL that grants writing the data but not the EAs: no overwrite.
    let vfs = c.server.vfs();
    let id = vfs.lookup(vfs.root(), "w").unwrap().id;
    let everyone = |mask: u32| SecurityDescriptor {
        control: SE_DACL_PRESENT,
        dacl: Some(Acl { revision: 2, aces: vec![Ace { kind: ACCESS_ALLOWED_ACE_TYPE, flags: 0, mask, sid: Sid::new(1, &[0]) }] }),
        ..Default::default()
    };
    const ALL_BUT_WRITE_EA: u32 = 0x001F_01FF & !FILE_WRITE_EA;
    let now = crate::time::Timespec::new(1, 0);
    vfs.set_security(id, Some(&everyone(ALL_BUT_WRITE_EA).to_bytes()), now).unwrap();
    for disp in [disposition::OVERWRITE, disposition::OVERWRITE_IF, disposition::SUPERSEDE] {
        let r = create(&mut c, "w", FILE_WRITE_DATA, disp, 0, &exta(&[("OTHER", b"2")]));
        assert_eq!(r.status(), status::ACCESS_DENIED, "disposition {disp}");
        let r = create(&mut c, "w", FILE_WRITE_DATA, disp, 0, &[]);
        assert_eq!(r.status(), status::ACCESS_DENIED, "disposition {disp} without ExtA");
    }
    // A plain open for writing the data is granted, and the EAs are kept.
    let fid = open(&mut c, "w", FILE_WRITE_DATA | FILE_READ_EA);
    assert_eq!(all(&mut c, fid).1, owned(&[("NEW", b"1")]));
    c.call(command::CLOSE, &close_body(fid, 0));
    let vfs = c.server.vfs();
    vfs.set_security(id, Some(&everyone(0x001F_01FF).to_bytes()), now).unwrap();
    let r = create(&mut c, "w", FILE_WRITE_DATA, disposition::OVERWRITE, 0, &exta(&[("OTHER", b"2")]));
    assert_eq!(r.status(), status::SUCCESS);
    c.call(command::CLOSE, &close_body(r.file_id(), 0));
    let fid = open(&mut c, "w", FILE_READ_EA);
    assert_eq!(all(&mut c, fid).1, owned(&[("OTHER", b"2")]));
}
