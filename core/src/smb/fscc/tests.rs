//! Golden layouts of the query classes (offsets from MS-FSCC 2.4 / 2.5) and
//! the output-limit rules of MS-SMB2 3.3.5.20.

use super::class::*;
use super::fs_class::*;
use super::*;
use crate::time::Timespec;
use crate::vfs::{FileAttr, FileType};

use crate::smb::wire::codec;
use crate::smb::wire::codec::to_vec;
use crate::smb::wire::utf16::{from_utf16le, utf16le};

fn u16_at(b: &[u8], at: usize) -> u16 {
    codec::u16_at(b, at).unwrap()
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    codec::u32_at(b, at).unwrap()
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    codec::u64_at(b, at).unwrap()
}

/// UTF-16 errors reach a SET_INFO answer as STATUS_INVALID_PARAMETER.
#[test]
fn utf16_errors_are_invalid_parameter() {
    assert_eq!(from_utf16le(&[0x61]).map_err(InfoError::from), Err(InfoError::InvalidParameter));
    assert_eq!(from_utf16le(&[0x00, 0xd8]).map_err(InfoError::from), Err(InfoError::InvalidParameter));
}

fn sample() -> FileInfo {
    FileInfo {
        creation: 0x1111_1111_1111_1111,
        last_access: 0x2222_2222_2222_2222,
        last_write: 0x3333_3333_3333_3333,
        change: 0x4444_4444_4444_4444,
        allocation_size: 8192,
        end_of_file: 5000,
        attributes: FILE_ATTRIBUTE_ARCHIVE,
        index_number: 0x0102_0304_0506_0708,
        number_of_links: 3,
        delete_pending: false,
        directory: false,
        access_flags: 0x0012_019F,
        position: 77,
        mode: 0x20,
        name: "\\dir\\f.txt".into(),
        ea_size: 9,
        streams: vec![
            StreamInfo { name: "::$DATA".into(), size: 5000, allocation_size: 8192 },
            StreamInfo { name: ":foo:$DATA".into(), size: 3, allocation_size: 4096 },
        ],
        reparse_tag: 0,
        short_name: "F~1.TXT".into(),
        volume_serial: 0xABCD,
    }
}

fn enc(class: u8, info: &FileInfo) -> Vec<u8> {
    let mut out = Vec::new();
    encode_file_info(class, info, &mut out).unwrap();
    out
}

fn check_times(b: &[u8], at: usize) {
    assert_eq!(u64_at(b, at), 0x1111_1111_1111_1111);
    assert_eq!(u64_at(b, at + 8), 0x2222_2222_2222_2222);
    assert_eq!(u64_at(b, at + 16), 0x3333_3333_3333_3333);
    assert_eq!(u64_at(b, at + 24), 0x4444_4444_4444_4444);
}

#[test]
fn basic_standard_and_small_fixed_classes() {
    let info = sample();
    let b = enc(FILE_BASIC_INFORMATION, &info);
    assert_eq!(b.len(), 40);
    check_times(&b, 0);
    assert_eq!(u32_at(&b, 32), FILE_ATTRIBUTE_ARCHIVE);
    assert_eq!(u32_at(&b, 36), 0);

    let s = enc(FILE_STANDARD_INFORMATION, &info);
    assert_eq!(s.len(), 24);
    assert_eq!((u64_at(&s, 0), u64_at(&s, 8), u32_at(&s, 16)), (8192, 5000, 3));
    assert_eq!((s[20], s[21], u16_at(&s, 22)), (0, 0, 0));

    assert_eq!(enc(FILE_INTERNAL_INFORMATION, &info), 0x0102_0304_0506_0708u64.to_le_bytes());
    assert_eq!(enc(FILE_EA_INFORMATION, &info), 9u32.to_le_bytes());
    assert_eq!(enc(FILE_ACCESS_INFORMATION, &info), 0x0012_019Fu32.to_le_bytes());
    assert_eq!(enc(FILE_POSITION_INFORMATION, &info), 77u64.to_le_bytes());
    assert_eq!(enc(FILE_MODE_INFORMATION, &info), 0x20u32.to_le_bytes());
    assert_eq!(enc(FILE_ALIGNMENT_INFORMATION, &info), [0; 4]);
}

#[test]
fn standard_reports_delete_pending_links_and_directories() {
    let mut info = sample();
    info.delete_pending = true;
    let s = enc(FILE_STANDARD_INFORMATION, &info);
    assert_eq!((u32_at(&s, 16), s[20], s[21]), (2, 1, 0));
    info.number_of_links = 0;
    info.delete_pending = false;
    assert_eq!(enc(FILE_STANDARD_INFORMATION, &info)[20], 1, "no links left means delete pending");

    let mut dir = sample();
    dir.directory = true;
    dir.attributes = 0;
    dir.number_of_links = 1;
    let s = enc(FILE_STANDARD_INFORMATION, &dir);
    assert_eq!((u32_at(&s, 16), s[20], s[21]), (1, 0, 1));
    assert_eq!(u32_at(&enc(FILE_BASIC_INFORMATION, &dir), 32), FILE_ATTRIBUTE_DIRECTORY);
}

#[test]
fn zero_attributes_are_reported_as_normal() {
    let mut info = sample();
    info.attributes = 0;
    assert_eq!(u32_at(&enc(FILE_BASIC_INFORMATION, &info), 32), FILE_ATTRIBUTE_NORMAL);
    info.attributes = FILE_ATTRIBUTE_NORMAL | FILE_ATTRIBUTE_READONLY;
    assert_eq!(u32_at(&enc(FILE_BASIC_INFORMATION, &info), 32), FILE_ATTRIBUTE_READONLY);
}

#[test]
fn all_information_layout() {
    let info = sample();
    let b = enc(FILE_ALL_INFORMATION, &info);
    let name = utf16le("\\dir\\f.txt");
    assert_eq!(b.len(), 100 + name.len());
    assert_eq!(&b[..40], &enc(FILE_BASIC_INFORMATION, &info)[..]);
    assert_eq!(&b[40..64], &enc(FILE_STANDARD_INFORMATION, &info)[..]);
    assert_eq!(u64_at(&b, 64), 0x0102_0304_0506_0708);
    assert_eq!(u32_at(&b, 72), 9);
    assert_eq!(u32_at(&b, 76), 0x0012_019F);
    assert_eq!(u64_at(&b, 80), 77);
    assert_eq!(u32_at(&b, 88), 0x20);
    assert_eq!(u32_at(&b, 92), 0);
    assert_eq!(u32_at(&b, 96) as usize, name.len());
    assert_eq!(&b[100..], &name[..]);
}

#[test]
fn name_classes() {
    let info = sample();
    let b = enc(FILE_NAME_INFORMATION, &info);
    assert_eq!(u32_at(&b, 0), 20);
    assert_eq!(from_utf16le(&b[4..]).unwrap(), "\\dir\\f.txt");
    assert_eq!(enc(FILE_NORMALIZED_NAME_INFORMATION, &info), b);
    let alt = enc(FILE_ALTERNATE_NAME_INFORMATION, &info);
    assert_eq!(from_utf16le(&alt[4..]).unwrap(), "F~1.TXT");
    let mut none = sample();
    none.short_name.clear();
    assert_eq!(
        encode_file_info(FILE_ALTERNATE_NAME_INFORMATION, &none, &mut Vec::new()),
        Err(InfoError::ObjectNameNotFound)
    );
}

#[test]
fn network_open_tag_compression_and_id() {
    let mut info = sample();
    let b = enc(FILE_NETWORK_OPEN_INFORMATION, &info);
    assert_eq!(b.len(), 56);
    check_times(&b, 0);
    assert_eq!((u64_at(&b, 32), u64_at(&b, 40)), (8192, 5000));
    assert_eq!((u32_at(&b, 48), u32_at(&b, 52)), (FILE_ATTRIBUTE_ARCHIVE, 0));

    assert_eq!(enc(FILE_ATTRIBUTE_TAG_INFORMATION, &info), [0x20, 0, 0, 0, 0, 0, 0, 0]);
    info.attributes |= FILE_ATTRIBUTE_REPARSE_POINT;
    info.reparse_tag = IO_REPARSE_TAG_SYMLINK;
    let t = enc(FILE_ATTRIBUTE_TAG_INFORMATION, &info);
    assert_eq!((u32_at(&t, 0), u32_at(&t, 4)), (0x420, IO_REPARSE_TAG_SYMLINK));

    let c = enc(FILE_COMPRESSION_INFORMATION, &info);
    assert_eq!(c.len(), 16);
    assert_eq!((u64_at(&c, 0), u16_at(&c, 8)), (8192, 0));
    assert_eq!(&c[10..], &[0; 6]);

    let id = enc(FILE_ID_INFORMATION, &info);
    assert_eq!(id.len(), 24);
    assert_eq!((u64_at(&id, 0), u64_at(&id, 8), u64_at(&id, 16)), (0xABCD, 0x0102_0304_0506_0708, 0));
}

#[test]
fn stream_entries_are_chained_and_aligned() {
    let b = enc(FILE_STREAM_INFORMATION, &sample());
    // "::$DATA" is 14 bytes: entry 38, next at 40; ":foo:$DATA" is 20 bytes.
    assert_eq!(b.len(), 40 + 24 + 20);
    assert_eq!((u32_at(&b, 0), u32_at(&b, 4), u64_at(&b, 8), u64_at(&b, 16)), (40, 14, 5000, 8192));
    assert_eq!(from_utf16le(&b[24..38]).unwrap(), "::$DATA");
    assert_eq!(&b[38..40], &[0, 0]);
    assert_eq!((u32_at(&b, 40), u32_at(&b, 44), u64_at(&b, 48), u64_at(&b, 56)), (0, 20, 3, 4096));
    assert_eq!(from_utf16le(&b[64..]).unwrap(), ":foo:$DATA");

    let mut dir = sample();
    dir.streams.clear();
    assert_eq!(enc(FILE_STREAM_INFORMATION, &dir), Vec::<u8>::new());
}

#[test]
fn class_dispositions() {
    let info = sample();
    let mut out = Vec::new();
    for class in [0, 1, 2, 3, 10, 11, 12, 13, 19, 20, 37, 38, 39, 40, 82, 255] {
        assert_eq!(encode_file_info(class, &info, &mut out), Err(InfoError::InvalidInfoClass), "{class}");
    }
    for class in [23, 24, 29, 32, 33, 46, 60, 64, 65] {
        assert_eq!(encode_file_info(class, &info, &mut out), Err(InfoError::NotSupported), "{class}");
    }
    assert_eq!(encode_file_info(FILE_FULL_EA_INFORMATION, &info, &mut out), Err(InfoError::NoEasOnFile));
    assert!(out.is_empty());
    assert_eq!(InfoError::BufferTooSmall.status(), STATUS_INFO_LENGTH_MISMATCH);
    assert_eq!(InfoError::InvalidInfoClass.status(), 0xC000_0003);
    assert_eq!(Fill::BufferOverflow.status(), 0x8000_0005);
}

/// smbtorture smb2.getinfo.qfile_buffercheck: below the fixed size
/// INFO_LENGTH_MISMATCH, below the full size BUFFER_OVERFLOW, at the full
/// size SUCCESS; the bytes returned never exceed the limit.
#[test]
fn limited_file_info_follows_buffercheck() {
    let info = sample();
    let table = [(4, 40), (5, 24), (6, 8), (7, 4), (8, 4), (16, 4), (17, 4), (18, 104), (21, 8), (22, 32)];
    let more = [(28, 16), (34, 56), (35, 8), (9, 8), (14, 8), (48, 8), (59, 24)];
    for (class, fixed) in table.into_iter().chain(more) {
        assert_eq!(file_info_min_len(class), Ok(fixed));
        let full = enc(class, &info);
        for max in 0..=full.len() + 8 {
            let mut out = Vec::new();
            let r = encode_file_info_limited(class, &info, max, &mut out);
            if max < fixed {
                assert_eq!(r, Err(InfoError::BufferTooSmall), "class {class} max {max}");
                assert!(out.is_empty());
            } else if max < full.len() {
                assert_eq!(r, Ok(Fill::BufferOverflow), "class {class} max {max}");
                assert!(out.len() <= max);
            } else {
                assert_eq!(r, Ok(Fill::Complete), "class {class} max {max}");
                assert_eq!(out, full);
            }
        }
    }
}

#[test]
fn truncated_names_keep_the_full_length() {
    let info = sample();
    let mut out = Vec::new();
    assert_eq!(encode_file_info_limited(FILE_ALL_INFORMATION, &info, 109, &mut out), Ok(Fill::BufferOverflow));
    // 9 bytes of room: 4 whole UTF-16 units of the name.
    assert_eq!(out.len(), 108);
    assert_eq!(u32_at(&out, 96), 20);
    assert_eq!(from_utf16le(&out[100..]).unwrap(), "\\dir");

    out.clear();
    assert_eq!(encode_file_info_limited(FILE_NAME_INFORMATION, &info, 11, &mut out), Ok(Fill::BufferOverflow));
    assert_eq!((out.len(), u32_at(&out, 0)), (10, 20));

    // Streams: whole entries only.
    out.clear();
    assert_eq!(encode_file_info_limited(FILE_STREAM_INFORMATION, &info, 83, &mut out), Ok(Fill::BufferOverflow));
    assert_eq!((out.len(), u32_at(&out, 0)), (38, 0));
}

#[test]
fn attributes_from_vfs() {
    let t = Timespec::new(1_700_000_000, 0);
    let mut attr = FileAttr {
        id: 42,
        generation: 1,
        kind: FileType::Regular,
        mode: 0o644,
        nlink: 2,
        uid: 1000,
        gid: 100,
        size: 5000,
        used: 4096,
        atime: Timespec::new(1_700_000_100, 0),
        mtime: Timespec::new(1_700_000_200, 0),
        ctime: Timespec::new(1_700_000_300, 0),
        btime: t,
        parent_file: None,
        dos: None,
    };
    assert_eq!(file_attributes(&attr), FILE_ATTRIBUTE_ARCHIVE);
    let info = file_info_from_attr(&attr);
    assert_eq!(info.creation, t.to_filetime());
    assert_eq!(info.last_access, Timespec::new(1_700_000_100, 0).to_filetime());
    assert_eq!(info.last_write, Timespec::new(1_700_000_200, 0).to_filetime());
    assert_eq!(info.change, Timespec::new(1_700_000_300, 0).to_filetime());
    assert_eq!((info.end_of_file, info.allocation_size), (5000, 8192));
    assert_eq!((info.index_number, info.number_of_links, info.directory), (42, 2, false));
    assert_eq!(info.streams, vec![StreamInfo { name: "::$DATA".into(), size: 5000, allocation_size: 8192 }]);

    attr.mode = 0o444;
    assert_eq!(file_attributes(&attr), FILE_ATTRIBUTE_ARCHIVE | FILE_ATTRIBUTE_READONLY);
    attr.btime = Timespec::default();
    assert_eq!(file_info_from_attr(&attr).creation, Timespec::new(1_700_000_200, 0).to_filetime());

    attr.kind = FileType::Directory;
    attr.mode = 0o555;
    assert_eq!(file_attributes(&attr), FILE_ATTRIBUTE_DIRECTORY);
    let dir = file_info_from_attr(&attr);
    assert_eq!((dir.end_of_file, dir.allocation_size, dir.number_of_links), (0, 0, 1));
    assert!(dir.directory && dir.streams.is_empty());

    attr.kind = FileType::Symlink;
    attr.mode = 0o777;
    let link = file_info_from_attr(&attr);
    assert_eq!(link.attributes, FILE_ATTRIBUTE_ARCHIVE | FILE_ATTRIBUTE_REPARSE_POINT);
    assert_eq!(link.reparse_tag, IO_REPARSE_TAG_SYMLINK);
}

fn fs() -> FsInfo {
    FsInfo {
        total_bytes: 4096 * 1000,
        free_bytes: 4096 * 300,
        avail_bytes: 4096 * 200,
        volume_label: "polyshare".into(),
        serial: 0xDEAD_BEEF,
        creation: 0x0123_4567_89AB_CDEF,
        named_streams: true,
        object_id: [7; 16],
        ..FsInfo::default()
    }
}

fn enc_fs(class: u8, fs: &FsInfo) -> Vec<u8> {
    let mut out = Vec::new();
    encode_fs_info(class, fs, &mut out).unwrap();
    out
}

#[test]
fn fs_layouts() {
    let fs = fs();
    let v = enc_fs(FILE_FS_VOLUME_INFORMATION, &fs);
    assert_eq!(v.len(), 18 + 18);
    assert_eq!(
        (u64_at(&v, 0), u32_at(&v, 8), u32_at(&v, 12), v[16], v[17]),
        (0x0123_4567_89AB_CDEF, 0xDEAD_BEEF, 18, 0, 0)
    );
    assert_eq!(from_utf16le(&v[18..]).unwrap(), "polyshare");

    let s = enc_fs(FILE_FS_SIZE_INFORMATION, &fs);
    assert_eq!((s.len(), u64_at(&s, 0), u64_at(&s, 8), u32_at(&s, 16), u32_at(&s, 20)), (24, 1000, 200, 8, 512));

    let d = enc_fs(FILE_FS_DEVICE_INFORMATION, &fs);
    assert_eq!((u32_at(&d, 0), u32_at(&d, 4)), (7, 0x20));

    let a = enc_fs(FILE_FS_ATTRIBUTE_INFORMATION, &fs);
    assert_eq!(u32_at(&a, 0), 0x0044_0047, "with FILE_SUPPORTS_SPARSE_FILES");
    assert_eq!((u32_at(&a, 4), u32_at(&a, 8)), (255, 8));
    assert_eq!(from_utf16le(&a[12..]).unwrap(), "NTFS");

    let c = enc_fs(FILE_FS_CONTROL_INFORMATION, &fs);
    assert_eq!((c.len(), u64_at(&c, 24), u64_at(&c, 32), u32_at(&c, 40)), (48, u64::MAX, u64::MAX, 0));

    let f = enc_fs(FILE_FS_FULL_SIZE_INFORMATION, &fs);
    assert_eq!(f.len(), 32);
    assert_eq!((u64_at(&f, 0), u64_at(&f, 8), u64_at(&f, 16)), (1000, 200, 300));
    assert_eq!((u32_at(&f, 24), u32_at(&f, 28)), (8, 512));

    let o = enc_fs(FILE_FS_OBJECT_ID_INFORMATION, &fs);
    assert_eq!((o.len(), &o[..16], &o[16..]), (64, &[7u8; 16][..], &[0u8; 48][..]));

    let ss = enc_fs(FILE_FS_SECTOR_SIZE_INFORMATION, &fs);
    assert_eq!(ss.len(), 28);
    assert_eq!((u32_at(&ss, 0), u32_at(&ss, 12), u32_at(&ss, 16), u32_at(&ss, 20)), (512, 512, 3, 0));

    let ro = FsInfo { read_only: true, named_streams: false, persistent_acls: true, ..fs };
    assert_eq!(u32_at(&enc_fs(FILE_FS_ATTRIBUTE_INFORMATION, &ro), 0), 0x0048_004F);
    assert_eq!(u32_at(&enc_fs(FILE_FS_DEVICE_INFORMATION, &ro), 4), 0x22);
}

#[test]
fn fs_classes_and_limits() {
    let fs = fs();
    let mut out = Vec::new();
    for class in [2, 9, 10] {
        assert_eq!(encode_fs_info(class, &fs, &mut out), Err(InfoError::NotSupported));
    }
    for class in [0, 12, 255] {
        assert_eq!(encode_fs_info(class, &fs, &mut out), Err(InfoError::InvalidInfoClass));
    }
    // smbtorture smb2.getinfo.qfs_buffercheck table.
    for (class, fixed) in [(1, 24), (3, 24), (4, 8), (5, 16), (6, 48), (7, 32), (8, 64), (11, 28)] {
        let full = enc_fs(class, &fs);
        for max in 0..=full.len() {
            let mut out = Vec::new();
            let r = encode_fs_info_limited(class, &fs, max, &mut out);
            if max < fixed {
                assert_eq!(r, Err(InfoError::BufferTooSmall), "class {class} max {max}");
            } else if max < full.len() {
                assert_eq!(r, Ok(Fill::BufferOverflow), "class {class} max {max}");
                assert!(out.len() <= max);
            } else {
                assert_eq!((r, &out), (Ok(Fill::Complete), &full));
            }
        }
    }
    // A cut label reports the bytes returned.
    let mut out = Vec::new();
    assert_eq!(encode_fs_info_limited(1, &fs, 25, &mut out), Ok(Fill::BufferOverflow));
    assert_eq!((out.len(), u32_at(&out, 12)), (24, 6));
    // Labels stop at 32 characters.
    let long = FsInfo { volume_label: "x".repeat(40), ..FsInfo::default() };
    assert_eq!(u32_at(&enc_fs(1, &long), 12), 64);
}

fn entry(name: &str, id: u64) -> DirEntryInfo {
    let mut info = sample();
    info.index_number = id;
    DirEntryInfo { name: name.into(), file_index: id as u32, info, short_name: "SHORT~1.TXT".into() }
}

fn enc_dir(class: u8, entries: &[DirEntryInfo], max: usize, single: bool) -> (Result<usize, InfoError>, Vec<u8>) {
    let mut out = Vec::new();
    let r = encode_dir_entries(class, entries.iter(), max, single, &mut out);
    (r, out)
}

#[test]
fn dir_entry_layouts() {
    let e = [entry("abc", 0x55)];
    for (class, fixed) in [(1, 64), (2, 68), (3, 94), (12, 12), (37, 104), (38, 80), (60, 88)] {
        assert_eq!(dir_entry_fixed_len(class), Ok(fixed));
        let (r, b) = enc_dir(class, &e, 65536, false);
        assert_eq!(r, Ok(1));
        assert_eq!(b.len(), fixed + 6, "class {class}");
        assert_eq!((u32_at(&b, 0), u32_at(&b, 4)), (0, 0x55));
        assert_eq!(from_utf16le(&b[fixed..]).unwrap(), "abc");
        if class == 12 {
            assert_eq!(u32_at(&b, 8), 6);
            continue;
        }
        check_times(&b, 8);
        assert_eq!((u64_at(&b, 40), u64_at(&b, 48), u32_at(&b, 56), u32_at(&b, 60)), (5000, 8192, 0x20, 6));
        match class {
            2 | 3 | 37 | 38 | 60 => assert_eq!(u32_at(&b, 64), 9, "EaSize of class {class}"),
            _ => {}
        }
        if class == 3 || class == 37 {
            assert_eq!((b[68], b[69]), (22, 0));
            assert_eq!(from_utf16le(&b[70..92]).unwrap(), "SHORT~1.TXT");
            assert_eq!(&b[92..94], &[0, 0]);
        }
        match class {
            37 => assert_eq!((u16_at(&b, 94), u64_at(&b, 96)), (0, 0x55)),
            38 => assert_eq!((u32_at(&b, 68), u64_at(&b, 72)), (0, 0x55)),
            60 => assert_eq!((u32_at(&b, 68), u64_at(&b, 72), u64_at(&b, 80)), (0, 0x55, 0)),
            _ => {}
        }
    }
    assert_eq!(dir_entry_fixed_len(4), Err(InfoError::InvalidInfoClass));
    assert_eq!(dir_entry_fixed_len(79), Err(InfoError::NotSupported));
}

#[test]
fn dir_entries_carry_reparse_tags_in_ea_size() {
    let mut e = entry("link", 1);
    e.info.attributes |= FILE_ATTRIBUTE_REPARSE_POINT;
    e.info.reparse_tag = IO_REPARSE_TAG_SYMLINK;
    let (_, b) = enc_dir(37, std::slice::from_ref(&e), 65536, false);
    assert_eq!(u32_at(&b, 64), IO_REPARSE_TAG_SYMLINK);
    let (_, b) = enc_dir(60, &[e], 65536, false);
    assert_eq!((u32_at(&b, 64), u32_at(&b, 68)), (9, IO_REPARSE_TAG_SYMLINK));
}

#[test]
fn dir_entries_chain_align_and_stop() {
    let entries = [entry(".", 1), entry("..", 2), entry("hello.txt", 3)];
    // FileIdBothDirectoryInformation: 104 + 2, 104 + 4, 104 + 18.
    let (r, b) = enc_dir(37, &entries, 65536, false);
    assert_eq!(r, Ok(3));
    assert_eq!(u32_at(&b, 0), 112);
    assert_eq!(u32_at(&b, 112), 112);
    assert_eq!(u32_at(&b, 224), 0);
    assert_eq!(b.len(), 224 + 122);
    assert_eq!(&b[106..112], &[0; 6], "padding is zero");
    assert_eq!(u64_at(&b, 224 + 96), 3);

    // Cut-off: the third entry needs 224 + 122 bytes.
    let (r, b) = enc_dir(37, &entries, 224 + 121, false);
    assert_eq!((r, b.len(), u32_at(&b, 112)), (Ok(2), 220, 0));
    // The limit counts from where the caller's buffer already ends.
    let mut out = vec![0xEE; 5];
    assert_eq!(encode_dir_entries(37, entries.iter(), 106, false, &mut out), Ok(1));
    assert_eq!(out.len(), 5 + 106);

    let (r, b) = enc_dir(37, &entries, 65536, true);
    assert_eq!((r, b.len()), (Ok(1), 106));

    let (r, b) = enc_dir(37, &[], 65536, false);
    assert_eq!((r, b.len()), (Ok(0), 0));
    assert_eq!(enc_dir(37, &entries, 105, false).0, Err(InfoError::BufferTooSmall));
    assert_eq!(enc_dir(37, &entries, 103, false).0, Err(InfoError::BufferTooSmall));
    assert_eq!(enc_dir(4, &entries, 65536, false).0, Err(InfoError::InvalidInfoClass));

    // FileNamesInformation: 12 + 2, 12 + 4 -> next at 16.
    let (_, b) = enc_dir(12, &entries[..2], 65536, false);
    assert_eq!((u32_at(&b, 0), u32_at(&b, 16), b.len()), (16, 0, 32));
}

#[test]
fn security_descriptor_layout() {
    let sd = to_vec(|b| minimal_security_descriptor(1000, 100, 0o754, 7, b));
    assert_eq!((sd[0], sd[1], u16_at(&sd, 2)), (1, 0, 0x8004));
    let (owner, group, sacl, dacl) = (u32_at(&sd, 4), u32_at(&sd, 8), u32_at(&sd, 12), u32_at(&sd, 16));
    assert_eq!((owner, group, sacl, dacl), (20, 36, 0, 52));
    // S-1-22-1-1000 and S-1-22-2-100.
    assert_eq!(&sd[20..36], &[1, 2, 0, 0, 0, 0, 0, 22, 1, 0, 0, 0, 0xE8, 3, 0, 0]);
    assert_eq!(&sd[36..52], &[1, 2, 0, 0, 0, 0, 0, 22, 2, 0, 0, 0, 100, 0, 0, 0]);
    // ACL header: revision 2, size, 3 ACEs.
    assert_eq!((sd[52], u16_at(&sd, 54) as usize, u16_at(&sd, 56)), (2, sd.len() - 52, 3));
    // Owner ACE: rwx -> FILE_ALL_ACCESS.
    assert_eq!((sd[60], sd[61], u16_at(&sd, 62), u32_at(&sd, 64)), (0, 0, 24, 0x001F_01FF));
    // Group ACE: r-x.
    assert_eq!(u32_at(&sd, 84 + 4), 0x0012_00A9);
    // Everyone ACE: r--, SID S-1-1-0.
    assert_eq!((u16_at(&sd, 108 + 2), u32_at(&sd, 108 + 4)), (20, 0x0012_0089));
    assert_eq!(&sd[116..128], &[1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert_eq!(sd.len(), 128);

    // Only the requested parts.
    let dacl_only = to_vec(|b| minimal_security_descriptor(1000, 100, 0o700, DACL_SECURITY_INFORMATION, b));
    assert_eq!((u32_at(&dacl_only, 4), u32_at(&dacl_only, 8), u32_at(&dacl_only, 16)), (0, 0, 20));
    assert_eq!(u16_at(&dacl_only, 20 + 4), 1, "classes without bits get no ACE");
    let owner_only = to_vec(|b| minimal_security_descriptor(0, 0, 0, OWNER_SECURITY_INFORMATION | 0x8, b));
    assert_eq!((u16_at(&owner_only, 2), u32_at(&owner_only, 4), owner_only.len()), (0x8000, 20, 36));
    assert_eq!(to_vec(|b| minimal_security_descriptor(0, 0, 0o777, 0, b)).len(), 20);
}

mod properties {
    use super::*;
    use quickcheck::quickcheck;

    const DIR_CLASSES: [u8; 7] = [1, 2, 3, 12, 37, 38, 60];

    quickcheck! {
        /// Whatever the names and the limit: the output fits, entries are
        /// 8-aligned, the NextEntryOffset chain visits exactly `count`
        /// entries and each FileNameLength matches its name.
        fn dir_entries_fit_and_chain(names: Vec<String>, max: u16, single: bool, pick: u8) -> bool {
            let class = DIR_CLASSES[usize::from(pick) % DIR_CLASSES.len()];
            let fixed = dir_entry_fixed_len(class).unwrap();
            let entries: Vec<DirEntryInfo> = names.iter().map(|n| entry(n, 1)).collect();
            let mut out = Vec::new();
            let max = usize::from(max);
            let count = match encode_dir_entries(class, entries.iter(), max, single, &mut out) {
                Ok(count) => count,
                Err(InfoError::BufferTooSmall) => return out.is_empty() && !entries.is_empty() || max < fixed,
                Err(_) => return false,
            };
            if out.len() > max || count > entries.len() || (single && count > 1) {
                return false;
            }
            let name_len_at = if class == 12 { 8 } else { 60 };
            let mut at = 0;
            for (i, e) in entries.iter().take(count).enumerate() {
                if at % 8 != 0 || u32_at(&out, at + name_len_at) as usize != utf16le(&e.name).len() {
                    return false;
                }
                let next = u32_at(&out, at) as usize;
                if (next == 0) != (i + 1 == count) {
                    return false;
                }
                at += next;
            }
            count == 0 || at + fixed + utf16le(&entries[count - 1].name).len() == out.len()
        }

        /// Limited encodings never exceed the limit and only fail below the fixed size.
        fn limited_never_exceeds(class: u8, max: u16, name: String) -> bool {
            let mut info = sample();
            info.name = name;
            let mut out = Vec::new();
            match encode_file_info_limited(class, &info, usize::from(max), &mut out) {
                Ok(_) => out.len() <= usize::from(max),
                Err(InfoError::BufferTooSmall) => out.is_empty() && file_info_min_len(class).unwrap() > usize::from(max),
                Err(_) => out.is_empty(),
            }
        }
    }
}
