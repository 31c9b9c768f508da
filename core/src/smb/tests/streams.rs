//! Alternate data streams over SMB on MemoryFs: a stream renamed within its
//! file (MS-FSA 2.1.5.15.12.1), an overwrite of the file dropping its named
//! streams, and basic information set through a stream's handle landing on
//! the file (MS-FSA 2.1.1.3).

use super::*;

const FILE_STREAM_INFORMATION: u8 = 22;
const FILE_BASIC_INFORMATION: u8 = 4;
const FILE_RENAME_INFORMATION: u8 = 10;

fn rename(c: &mut Client, fid: FileId, target: &str, replace: bool) -> u32 {
    c.call(command::SET_INFO, &set_info_body(fid, FILE_RENAME_INFORMATION, &rename_info(target, replace))).status()
}

fn read_all(c: &mut Client, name: &str) -> Result<Vec<u8>, u32> {
    let r = c.create(name, RW, SHARE_ALL, disposition::OPEN, 0);
    if r.status() != status::SUCCESS {
        return Err(r.status());
    }
    let rd = c.call(command::READ, &read_body(r.file_id(), 0, 100));
    c.call(command::CLOSE, &close_body(r.file_id(), 0));
    Ok(rd.body.get(16..).unwrap_or_default().to_vec())
}

/// The stream names FileStreamInformation lists through `fid`.
fn stream_names(c: &mut Client, fid: FileId) -> Vec<String> {
    let r = c.call(command::QUERY_INFO, &query_info_body(fid, 1, FILE_STREAM_INFORMATION));
    assert_eq!(r.status(), status::SUCCESS);
    let buf = r.body.get(8..).unwrap_or_default();
    let mut names = Vec::new();
    let mut at = 0usize;
    loop {
        let next = u32_at(buf, at).unwrap() as usize;
        let len = u32_at(buf, at + 4).unwrap() as usize;
        let name: Vec<u16> =
            buf[at + 24..at + 24 + len].chunks(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
        names.push(String::from_utf16(&name).unwrap());
        if next == 0 {
            return names;
        }
        at += next;
    }
}

#[test]
fn a_stream_renamed_within_its_file_keeps_its_data_and_its_open() {
    let mut c = Client::ready();
    c.put("f", b"main");
    c.put("f:one", b"side");
    let h = c.create("f:one", RW | DELETE, SHARE_ALL, disposition::OPEN, 0).file_id();
    assert_eq!(rename(&mut c, h, ":two", false), status::SUCCESS);
    // The open follows the stream.
    let rd = c.call(command::READ, &read_body(h, 0, 10));
    assert_eq!(&rd.body[16..], b"side");
    assert_eq!(stream_names(&mut c, h), vec!["::$DATA", ":two:$DATA"]);
    c.call(command::CLOSE, &close_body(h, 0));
    assert_eq!(read_all(&mut c, "f:one"), Err(status::OBJECT_NAME_NOT_FOUND));
    assert_eq!(read_all(&mut c, "f:two").unwrap(), b"side");
    assert_eq!(read_all(&mut c, "f").unwrap(), b"main");
    // `:name:$DATA` names a stream too; the same name (any case) is a no-op.
    let h = c.create("f:two", RW | DELETE, SHARE_ALL, disposition::OPEN, 0).file_id();
    assert_eq!(rename(&mut c, h, ":TWO:$DATA", false), status::SUCCESS);
    assert_eq!(rename(&mut c, h, ":three:$DATA", false), status::SUCCESS);
    c.call(command::CLOSE, &close_body(h, 0));
    assert_eq!(read_all(&mut c, "f:three").unwrap(), b"side");
}

#[test]
fn a_stream_rename_replaces_only_a_closed_empty_stream() {
    let mut c = Client::ready();
    c.put("f", b"main");
    c.put("f:a", b"aaa");
    c.put("f:full", b"x");
    let empty = c.create("f:empty", RW, SHARE_ALL, disposition::CREATE, 0);
    assert_eq!(empty.status(), status::SUCCESS);
    let h = c.create("f:a", RW | DELETE, SHARE_ALL, disposition::OPEN, 0).file_id();
    // MS-FSA 2.1.5.15.12.1: an existing target without ReplaceIfExists is
    // a collision; an open or non-empty one is an invalid parameter.
    assert_eq!(rename(&mut c, h, ":empty", false), status::OBJECT_NAME_COLLISION);
    assert_eq!(rename(&mut c, h, ":empty", true), status::INVALID_PARAMETER, "the target is open");
    c.call(command::CLOSE, &close_body(empty.file_id(), 0));
    assert_eq!(rename(&mut c, h, ":full", true), status::INVALID_PARAMETER, "the target holds data");
    assert_eq!(rename(&mut c, h, ":x:$INDEX_ALLOCATION", false), status::OBJECT_TYPE_MISMATCH);
    assert_eq!(rename(&mut c, h, ":x:", false), status::INVALID_PARAMETER);
    // The unnamed stream holds data: it is not replaced.
    assert_eq!(rename(&mut c, h, "::$DATA", true), status::INVALID_PARAMETER);
    assert_eq!(rename(&mut c, h, ":empty", true), status::SUCCESS);
    c.call(command::CLOSE, &close_body(h, 0));
    assert_eq!(read_all(&mut c, "f:empty").unwrap(), b"aaa");
    assert_eq!(read_all(&mut c, "f:a"), Err(status::OBJECT_NAME_NOT_FOUND));
    // DELETE access is needed, as for any rename.
    let h = c.create("f:full", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
    assert_eq!(rename(&mut c, h, ":other", false), status::ACCESS_DENIED);
    c.call(command::CLOSE, &close_body(h, 0));
    // A path naming a stream of a file in use is a sharing violation (as
    // Windows answers); a file name through a named stream's handle is an
    // invalid parameter (as FileLinkInformation's is, MS-FSA 2.1.5.15.7,
    // and as Windows answers an SMB1 NT RENAME of `file:stream` to a file
    // name: smbtorture raw.streams.rename2), and nothing is renamed.
    let h = c.create("f:full", RW | DELETE, SHARE_ALL, disposition::OPEN, 0).file_id();
    assert_eq!(rename(&mut c, h, "f:other", false), status::SHARING_VIOLATION);
    assert_eq!(rename(&mut c, h, "g", false), status::INVALID_PARAMETER);
    assert_eq!(rename(&mut c, h, "g", true), status::INVALID_PARAMETER);
    c.call(command::CLOSE, &close_body(h, 0));
    assert_eq!(read_all(&mut c, "f:full").unwrap(), b"x");
    assert_eq!(read_all(&mut c, "g"), Err(status::OBJECT_NAME_NOT_FOUND));
}

/// MS-FSA 2.1.5.15.12.1: a named stream renamed onto the empty unnamed
/// stream becomes the file's data, and the open renaming it is the file's
/// open from then on; the unnamed stream renamed to a named one moves the
/// data back into a stream, the open with it.
#[test]
fn a_stream_renamed_to_and_from_the_unnamed_stream_moves_data_and_open() {
    let mut c = Client::ready();
    let f = c.create("f", RW, SHARE_ALL, disposition::CREATE, 0).file_id();
    c.put("f:s", b"side");
    let h = c.create("f:s", RW | DELETE, SHARE_ALL, disposition::OPEN, 0).file_id();
    assert_eq!(rename(&mut c, h, "::$DATA", false), status::OBJECT_NAME_COLLISION);
    assert_eq!(rename(&mut c, h, "::$DATA", true), status::INVALID_PARAMETER, "the file is open");
    c.call(command::CLOSE, &close_body(f, 0));
    assert_eq!(rename(&mut c, h, "::$DATA", true), status::SUCCESS);
    assert_eq!(stream_names(&mut c, h), vec!["::$DATA"], "the stream is gone");
    // The open now reads and writes the file.
    assert_eq!(c.call(command::WRITE, &write_body(h, 4, b"!")).status(), status::SUCCESS);
    let rd = c.call(command::READ, &read_body(h, 0, 10));
    assert_eq!(&rd.body[16..], b"side!");
    c.call(command::CLOSE, &close_body(h, 0));
    assert_eq!(read_all(&mut c, "f").unwrap(), b"side!");
    assert_eq!(read_all(&mut c, "f:s"), Err(status::OBJECT_NAME_NOT_FOUND));
    // And back: the unnamed stream renamed to a named one leaves the file
    // empty, the open on the stream. MS-FSA 2.1.5.15.12.1 asks nothing of
    // the file's other opens: one stays on the file, now empty.
    let h = c.create("f", RW | DELETE, SHARE_ALL, disposition::OPEN, 0).file_id();
    let other = c.create("f", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
    assert_eq!(rename(&mut c, h, ":named", false), status::SUCCESS);
    assert_eq!(stream_names(&mut c, h), vec!["::$DATA", ":named:$DATA"]);
    let rd = c.call(command::READ, &read_body(h, 0, 10));
    assert_eq!(&rd.body[16..], b"side!", "the open reads the stream");
    assert_eq!(c.call(command::READ, &read_body(other, 0, 10)).status(), status::END_OF_FILE, "the file is empty");
    c.call(command::CLOSE, &close_body(other, 0));
    c.call(command::CLOSE, &close_body(h, 0));
    assert_eq!(read_all(&mut c, "f").unwrap(), b"");
    assert_eq!(read_all(&mut c, "f:named").unwrap(), b"side!");
}

#[test]
fn an_overwrite_of_the_file_drops_its_named_streams() {
    let mut c = Client::ready();
    for disp in [disposition::OVERWRITE, disposition::OVERWRITE_IF, disposition::SUPERSEDE] {
        c.put("f", b"main");
        c.put("f:s", b"side");
        // Not while a stream is open.
        let s = c.create("f:s", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
        assert_eq!(c.create("f", RW | DELETE, SHARE_ALL, disp, 0).status(), status::SHARING_VIOLATION);
        c.call(command::CLOSE, &close_body(s, 0));
        let h = c.create("f", RW | DELETE, SHARE_ALL, disp, 0);
        assert_eq!(h.status(), status::SUCCESS, "disposition {disp}");
        assert_eq!(stream_names(&mut c, h.file_id()), vec!["::$DATA"], "disposition {disp}");
        c.call(command::CLOSE, &close_body(h.file_id(), 0));
        assert_eq!(read_all(&mut c, "f:s"), Err(status::OBJECT_NAME_NOT_FOUND));
    }
    // An overwrite of a stream leaves the others.
    c.put("g", b"main");
    c.put("g:a", b"1");
    c.put("g:b", b"2");
    let h = c.create("g:a", RW, SHARE_ALL, disposition::OVERWRITE, 0).file_id();
    assert_eq!(stream_names(&mut c, h), vec!["::$DATA", ":a:$DATA", ":b:$DATA"], "listed through a stream's handle");
    c.call(command::CLOSE, &close_body(h, 0));
}

#[test]
fn basic_information_set_through_a_stream_is_the_files() {
    let mut c = Client::ready();
    c.put("f", b"main");
    let s = c.create("f:s", RW, SHARE_ALL, disposition::CREATE, 0).file_id();
    const HIDDEN_ARCHIVE: u32 = 0x22;
    let write_time: u64 = 133_000_000_000_000_000;
    let mut basic = vec![0u8; 40];
    basic[16..24].copy_from_slice(&write_time.to_le_bytes());
    basic[32..36].copy_from_slice(&HIDDEN_ARCHIVE.to_le_bytes());
    let r = c.call(command::SET_INFO, &set_info_body(s, FILE_BASIC_INFORMATION, &basic));
    assert_eq!(r.status(), status::SUCCESS);
    let f = c.create("f", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
    for (fid, who) in [(f, "file"), (s, "stream")] {
        let r = c.call(command::QUERY_INFO, &query_info_body(fid, 1, FILE_BASIC_INFORMATION));
        assert_eq!(r.status(), status::SUCCESS);
        assert_eq!(u64_at(&r.body, 8 + 16).unwrap(), write_time, "{who}'s last-write time");
        assert_eq!(u32_at(&r.body, 8 + 32).unwrap(), HIDDEN_ARCHIVE, "{who}'s attributes");
    }
}

/// A directory is not renamed while a stream of a file below it is open
/// (MS-FSA 2.1.4.2: the stream's open is an open below it).
#[test]
fn a_directory_with_an_open_stream_below_is_not_renamed() {
    let mut c = Client::ready();
    let d = c.create("d", RW | DELETE, SHARE_ALL, disposition::CREATE, options::DIRECTORY_FILE).file_id();
    c.put("d\\f", b"1");
    c.put("d\\f:s", b"2");
    let s = c.create("d\\f:s", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
    assert_eq!(rename(&mut c, d, "e", false), status::ACCESS_DENIED);
    c.call(command::CLOSE, &close_body(s, 0));
    assert_eq!(rename(&mut c, d, "e", false), status::SUCCESS);
}

/// Renames onto the unnamed stream (`::$DATA`) by MS-FSA 2.1.5.15.12.1:
/// the unnamed stream is the target (ReplaceIfExists, no open, no data);
/// nothing is asked of the renamed stream's opens. Another open of the
/// stream keeps the stream, which is gone; the renaming open moves to the
/// file without the oplock and the byte-range lock it held on the stream.
#[test]
fn a_rename_onto_the_unnamed_stream_asks_only_what_the_spec_asks() {
    let mut c = Client::ready();
    // Another open of the stream: allowed, and left on the removed stream.
    c.put("f", b"");
    c.put("f:s", b"side");
    let h = c.create("f:s", RW | DELETE, SHARE_ALL, disposition::OPEN, 0).file_id();
    let other = c.create("f:s", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
    assert_eq!(rename(&mut c, h, "::$DATA", true), status::SUCCESS);
    assert_eq!(c.call(command::READ, &read_body(other, 0, 10)).status(), status::FILE_CLOSED);
    let rd = c.call(command::READ, &read_body(h, 0, 10));
    assert_eq!(&rd.body[16..], b"side");
    c.call(command::CLOSE, &close_body(other, 0));
    c.call(command::CLOSE, &close_body(h, 0));
    assert_eq!(read_all(&mut c, "f").unwrap(), b"side");
    assert_eq!(read_all(&mut c, "f:s"), Err(status::OBJECT_NAME_NOT_FOUND));

    // The renaming open holds a batch oplock: it moves without it.
    c.put("g", b"");
    c.put("g:s", b"oplocked");
    let mut body = create_body("g:s", RW | DELETE, SHARE_ALL, disposition::OPEN, 0, &[]);
    body[3] = 0x09;
    let r = c.call(command::CREATE, &body);
    assert_eq!((r.status(), r.body[2]), (status::SUCCESS, 0x09), "a batch oplock");
    let h = r.file_id();
    assert_eq!(rename(&mut c, h, "::$DATA", true), status::SUCCESS);
    c.call(command::CLOSE, &close_body(h, 0));
    assert_eq!(read_all(&mut c, "g").unwrap(), b"oplocked");

    // The renaming open holds a byte-range lock: it moves without it, so
    // another open writes the range.
    c.put("k", b"");
    c.put("k:s", b"locked");
    let h = c.create("k:s", RW | DELETE, SHARE_ALL, disposition::OPEN, 0).file_id();
    const EXCLUSIVE_FAIL_IMMEDIATELY: u32 = 0x2 | 0x10;
    let r = c.call(command::LOCK, &crate::testing::smb_client::lock_body(h, 0, 6, EXCLUSIVE_FAIL_IMMEDIATELY));
    assert_eq!(r.status(), status::SUCCESS);
    assert_eq!(rename(&mut c, h, "::$DATA", true), status::SUCCESS);
    let w = c.create("k", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
    assert_eq!(c.call(command::WRITE, &write_body(w, 0, b"L")).status(), status::SUCCESS, "no lock on the file");
    c.call(command::CLOSE, &close_body(w, 0));
    c.call(command::CLOSE, &close_body(h, 0));
    assert_eq!(read_all(&mut c, "k").unwrap(), b"Locked");
}

/// A stream renamed onto the unnamed stream after its file was renamed
/// over SMB lands on the file where it is now; a file another protocol
/// moved to another directory cannot be named (STATUS_FILE_RENAMED).
#[test]
fn a_rename_onto_the_unnamed_stream_finds_a_file_renamed_since() {
    let mut c = Client::ready();
    c.put("f", b"");
    c.put("f:s", b"side");
    let h = c.create("f:s", RW | DELETE, SHARE_ALL, disposition::OPEN, 0).file_id();
    let f = c.create("f", RW | DELETE, SHARE_ALL, disposition::OPEN, 0).file_id();
    assert_eq!(rename(&mut c, f, "moved", false), status::SUCCESS);
    c.call(command::CLOSE, &close_body(f, 0));
    assert_eq!(rename(&mut c, h, "::$DATA", true), status::SUCCESS);
    // The open is the file's, under its new name.
    let r = c.call(command::QUERY_INFO, &query_info_body(h, 1, 9));
    assert_eq!(r.status(), status::SUCCESS);
    let len = u32_at(&r.body, 8).unwrap() as usize;
    let name: Vec<u16> = r.body[12..12 + len].chunks(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
    assert_eq!(String::from_utf16(&name).unwrap(), "\\moved");
    c.call(command::CLOSE, &close_body(h, 0));
    assert_eq!(read_all(&mut c, "moved").unwrap(), b"side");

    c.put("g", b"");
    c.put("g:s", b"side");
    let d = c.create("d", RW, SHARE_ALL, disposition::CREATE, options::DIRECTORY_FILE).file_id();
    c.call(command::CLOSE, &close_body(d, 0));
    let h = c.create("g:s", RW | DELETE, SHARE_ALL, disposition::OPEN, 0).file_id();
    let vfs = c.server.vfs();
    let root = vfs.root();
    let dir = vfs.lookup(root, "d").unwrap().id;
    vfs.rename(root, "g", dir, "g", false, crate::time::Timespec::new(1, 0)).unwrap();
    assert_eq!(rename(&mut c, h, "::$DATA", true), status::FILE_RENAMED);
    c.call(command::CLOSE, &close_body(h, 0));
    assert_eq!(read_all(&mut c, "d\\g:s").unwrap(), b"side", "nothing moved");
}
