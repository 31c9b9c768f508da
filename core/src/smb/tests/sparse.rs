//! FSCTL_SET_SPARSE, FSCTL_SET_ZERO_DATA and FSCTL_QUERY_ALLOCATED_RANGES
//! on MemoryFs (64 KiB chunks, freed when wholly zeroed in a sparse file):
//! the attribute, the range checks, access, locks and the reply sizes.

use super::*;
use crate::smb::wire::ioctl::IoctlRequest;
use crate::smb::wire::sparse::*;

const SPARSE: u32 = 0x200;
const K64: u64 = 64 * 1024;
const FILE_READ_DATA: u32 = 0x1;
const FILE_WRITE_DATA: u32 = 0x2;
const FILE_APPEND_DATA: u32 = 0x4;
const FILE_WRITE_EA: u32 = 0x10;
const FILE_READ_ATTRIBUTES: u32 = 0x80;
const FILE_WRITE_ATTRIBUTES: u32 = 0x100;

fn fsctl(c: &mut Client, fid: FileId, ctl_code: u32, input: &[u8], max_output: u32) -> Resp {
    let mut body = Vec::new();
    IoctlRequest { ctl_code, file_id: fid, input, max_output, flags: 1 }.encode(&mut body);
    c.call(command::IOCTL, &body)
}

fn pair(a: u64, b: u64) -> Vec<u8> {
    let mut v = a.to_le_bytes().to_vec();
    v.extend_from_slice(&b.to_le_bytes());
    v
}

fn set_sparse(c: &mut Client, fid: FileId, input: &[u8]) -> u32 {
    fsctl(c, fid, FSCTL_SET_SPARSE, input, 0).status()
}

fn zero(c: &mut Client, fid: FileId, offset: u64, beyond: u64) -> u32 {
    fsctl(c, fid, FSCTL_SET_ZERO_DATA, &pair(offset, beyond), 0).status()
}

/// The status and ranges of a QUERY_ALLOCATED_RANGES.
fn qar(c: &mut Client, fid: FileId, offset: u64, len: u64, max_output: u32) -> (u32, Vec<(u64, u64)>) {
    let r = fsctl(c, fid, FSCTL_QUERY_ALLOCATED_RANGES, &pair(offset, len), max_output);
    if r.body.len() < 48 {
        return (r.status(), Vec::new());
    }
    let off = u32_at(&r.body, 32).unwrap() as usize - 64;
    let n = u32_at(&r.body, 36).unwrap() as usize;
    let out = &r.body[off..off + n];
    assert_eq!(n % RANGE_LEN, 0);
    let ranges = out.chunks(RANGE_LEN).map(|b| (u64_at(b, 0).unwrap(), u64_at(b, 8).unwrap())).collect();
    (r.status(), ranges)
}

fn attributes(c: &mut Client, fid: FileId) -> u32 {
    let r = c.call(command::QUERY_INFO, &query_info_body(fid, 1, 4));
    assert_eq!(r.status(), status::SUCCESS);
    let off = u16_at(&r.body, 2).unwrap() as usize - 64;
    u32_at(&r.body, off + 32).unwrap()
}

fn open(c: &mut Client, name: &str, access: u32) -> FileId {
    let r = c.create(name, access, SHARE_ALL, disposition::OPEN_IF, options::NON_DIRECTORY_FILE);
    assert_eq!(r.status(), status::SUCCESS, "open {name}");
    r.file_id()
}

/// Writes `len` bytes of `byte` at `at`, 64 KiB per WRITE (one credit each).
fn fill(c: &mut Client, fid: FileId, at: u64, len: u64, byte: u8) {
    let mut done = 0;
    while done < len {
        let n = (len - done).min(K64);
        let r = c.call(command::WRITE, &write_body(fid, at + done, &vec![byte; n as usize]));
        assert_eq!(r.status(), status::SUCCESS);
        done += n;
    }
}

fn read(c: &mut Client, fid: FileId, offset: u64, len: u32) -> Vec<u8> {
    let r = c.call(command::READ, &read_body(fid, offset, len));
    assert_eq!(r.status(), status::SUCCESS);
    r.body[16..].to_vec()
}

#[test]
fn sparse_files_are_offered() {
    let mut c = Client::ready();
    let fid = open(&mut c, "f", RW);
    let r = c.call(command::QUERY_INFO, &query_info_body(fid, 2, 5));
    assert_eq!(r.status(), status::SUCCESS);
    let off = u16_at(&r.body, 2).unwrap() as usize - 64;
    assert_ne!(u32_at(&r.body, off).unwrap() & 0x40, 0, "FILE_SUPPORTS_SPARSE_FILES");
}

#[test]
fn set_sparse_sets_and_clears_the_attribute() {
    let mut c = Client::ready();
    let fid = open(&mut c, "f", RW);
    assert_eq!(attributes(&mut c, fid) & SPARSE, 0);
    assert_eq!(set_sparse(&mut c, fid, &[]), status::SUCCESS, "no buffer sets");
    assert_ne!(attributes(&mut c, fid) & SPARSE, 0);
    assert_eq!(set_sparse(&mut c, fid, &[]), status::SUCCESS, "and does not toggle");
    assert_ne!(attributes(&mut c, fid) & SPARSE, 0);
    // SET_INFO FileBasicInformation neither sets nor clears it.
    let mut basic = vec![0u8; 32];
    basic.extend_from_slice(&0x20u32.to_le_bytes());
    basic.extend_from_slice(&[0; 4]);
    assert_eq!(c.call(command::SET_INFO, &set_info_body(fid, 4, &basic)).status(), status::SUCCESS);
    assert_eq!(attributes(&mut c, fid) & (SPARSE | 0x20), SPARSE | 0x20, "kept beside ARCHIVE");
    assert_eq!(set_sparse(&mut c, fid, &[0; 100]), status::SUCCESS, "an oversize buffer, cleared");
    assert_eq!(attributes(&mut c, fid) & SPARSE, 0);
    basic[32..36].copy_from_slice(&(0x20 | SPARSE).to_le_bytes());
    assert_eq!(c.call(command::SET_INFO, &set_info_body(fid, 4, &basic)).status(), status::SUCCESS);
    assert_eq!(attributes(&mut c, fid) & SPARSE, 0, "SET_INFO does not set it");
}

#[test]
fn set_sparse_is_refused_on_directories_and_without_write_access() {
    let mut c = Client::ready();
    let r = c.create("d", RW, SHARE_ALL, disposition::OPEN_IF, options::DIRECTORY_FILE);
    assert_eq!(set_sparse(&mut c, r.file_id(), &[1]), status::INVALID_PARAMETER);
    // A new file asked for with SPARSE is not sparse (MS-FSA 2.1.5.1.1).
    let r = c.call(command::CREATE, &create_body("s", RW, SHARE_ALL, disposition::CREATE, 0, &[]));
    let mut b = create_body("t", RW, SHARE_ALL, disposition::CREATE, 0, &[]);
    b[28..32].copy_from_slice(&(0x80 | SPARSE).to_le_bytes());
    let t = c.call(command::CREATE, &b);
    assert_eq!(t.status(), status::SUCCESS);
    assert_eq!(attributes(&mut c, t.file_id()) & SPARSE, 0);
    assert_eq!(r.status(), status::SUCCESS);
    for (access, want) in [
        (FILE_WRITE_EA, status::ACCESS_DENIED),
        (FILE_WRITE_DATA, status::SUCCESS),
        (FILE_APPEND_DATA, status::SUCCESS),
        (FILE_WRITE_ATTRIBUTES, status::SUCCESS),
    ] {
        let fid = open(&mut c, "f", access);
        assert_eq!(set_sparse(&mut c, fid, &[1]), want, "access {access:#x}");
        c.call(command::CLOSE, &close_body(fid, 0));
    }
}

#[test]
fn zero_data_zeros_inside_the_file_and_checks_its_range() {
    let mut c = Client::ready();
    c.put("f", &[7u8; 4096]);
    let fid = open(&mut c, "f", RW);
    assert_eq!(zero(&mut c, fid, 4096, 4095), status::INVALID_PARAMETER, "offset past BeyondFinalZero");
    let neg = fsctl(&mut c, fid, FSCTL_SET_ZERO_DATA, &pair(u64::MAX, 10), 0);
    assert_eq!(neg.status(), status::INVALID_PARAMETER, "negative offset");
    let short = fsctl(&mut c, fid, FSCTL_SET_ZERO_DATA, &[0; 8], 0);
    assert_eq!(short.status(), status::INVALID_PARAMETER, "short buffer");
    assert_eq!(zero(&mut c, fid, 4095, 4095), status::SUCCESS, "empty");
    assert_eq!(zero(&mut c, fid, 8192, 8200), status::SUCCESS, "past the end");
    assert_eq!(zero(&mut c, fid, 100, 200), status::SUCCESS);
    let data = read(&mut c, fid, 0, 4096);
    assert_eq!(data.len(), 4096, "the size is kept");
    assert!(data[..100].iter().all(|b| *b == 7) && data[200..].iter().all(|b| *b == 7));
    assert!(data[100..200].iter().all(|b| *b == 0));
    assert_eq!(zero(&mut c, fid, 4000, 1 << 40), status::SUCCESS, "cut at the end");
    let data = read(&mut c, fid, 0, 4096);
    assert_eq!(data.len(), 4096);
    assert!(data[4000..].iter().all(|b| *b == 0) && data[3999] == 7);
}

#[test]
fn zero_data_needs_write_data_and_respects_locks() {
    let mut c = Client::ready();
    c.put("f", &[1u8; 8192]);
    for access in [FILE_WRITE_ATTRIBUTES, FILE_APPEND_DATA, FILE_WRITE_EA] {
        let fid = open(&mut c, "f", access);
        assert_eq!(zero(&mut c, fid, 0, 4096), status::ACCESS_DENIED, "access {access:#x}");
        c.call(command::CLOSE, &close_body(fid, 0));
    }
    let fid = open(&mut c, "f", FILE_WRITE_DATA);
    assert_eq!(zero(&mut c, fid, 0, 4096), status::SUCCESS);
    let locker = open(&mut c, "f", RW);
    let mut lock = fid_body(48, locker, 8, &[]);
    lock[2] = 1;
    lock.extend_from_slice(&0u64.to_le_bytes());
    lock.extend_from_slice(&K64.to_le_bytes());
    lock.extend_from_slice(&0x12u32.to_le_bytes());
    lock.extend_from_slice(&[0; 4]);
    assert_eq!(c.call(command::LOCK, &lock).status(), status::SUCCESS);
    assert_eq!(zero(&mut c, fid, 0, 4096), 0xC000_0054, "FILE_LOCK_CONFLICT");
    assert_eq!(zero(&mut c, fid, 8192, K64 + 4096), status::SUCCESS, "past the end, nothing to check");
    let reader = open(&mut c, "f", FILE_READ_DATA);
    assert_eq!(qar(&mut c, reader, 0, 4096, 1024), (status::SUCCESS, vec![(0, 4096)]), "locks do not stop QAR");
}

#[test]
fn allocated_ranges_of_a_file_that_is_not_sparse_are_the_range_cut_at_its_end() {
    let mut c = Client::ready();
    let fid = open(&mut c, "f", RW);
    fill(&mut c, fid, 0, 2 * K64, 3);
    assert_eq!(zero(&mut c, fid, 0, K64), status::SUCCESS);
    assert_eq!(qar(&mut c, fid, 0, 2 * K64 - 1, 1024), (status::SUCCESS, vec![(0, 2 * K64 - 1)]));
    assert_eq!(qar(&mut c, fid, 0, 2 * K64 + 1, 1024), (status::SUCCESS, vec![(0, 2 * K64)]));
    assert_eq!(qar(&mut c, fid, 1, 2 * K64, 1024), (status::SUCCESS, vec![(1, 2 * K64 - 1)]));
    assert_eq!(qar(&mut c, fid, 2 * K64, 1024, 1024), (status::SUCCESS, vec![]), "past the end");
    assert_eq!(qar(&mut c, fid, 0, 0, 1024), (status::SUCCESS, vec![]), "empty");
}

#[test]
fn allocated_ranges_of_a_sparse_file_leave_out_its_holes() {
    let mut c = Client::ready();
    let fid = open(&mut c, "f", RW);
    assert_eq!(set_sparse(&mut c, fid, &[1]), status::SUCCESS);
    // Ten pairs of chunks, the first of each zeroed: ten ranges.
    for i in 0..10u64 {
        let at = i * 2 * K64;
        fill(&mut c, fid, at, 2 * K64, 9);
        assert_eq!(zero(&mut c, fid, at, at + K64), status::SUCCESS);
    }
    let (st, ranges) = qar(&mut c, fid, 0, 20 * K64, 1024);
    assert_eq!(st, status::SUCCESS);
    let want: Vec<(u64, u64)> = (0..10).map(|i| (i * 2 * K64 + K64, K64)).collect();
    assert_eq!(ranges, want);
    assert!(read(&mut c, fid, 0, K64 as u32).iter().all(|b| *b == 0), "the hole reads as zeros");
    // Room for three: those, and BUFFER_OVERFLOW; for none: BUFFER_TOO_SMALL.
    assert_eq!(qar(&mut c, fid, 0, 20 * K64, 3 * 16 + 15), (status::BUFFER_OVERFLOW, want[..3].to_vec()));
    assert_eq!(qar(&mut c, fid, 0, 20 * K64, 15).0, status::BUFFER_TOO_SMALL);
    assert_eq!(qar(&mut c, fid, 0, K64, 0), (status::SUCCESS, vec![]), "nothing to send fits");
    // A range inside one allocated part, and one ending inside a hole.
    assert_eq!(qar(&mut c, fid, K64 + 1, 10, 1024), (status::SUCCESS, vec![(K64 + 1, 10)]));
    assert_eq!(qar(&mut c, fid, K64 - 1, K64 + 2, 1024), (status::SUCCESS, vec![(K64, K64)]));
    // Cleared, the file is allocated throughout again.
    assert_eq!(set_sparse(&mut c, fid, &[0]), status::SUCCESS);
    assert_eq!(qar(&mut c, fid, 0, 20 * K64, 1024), (status::SUCCESS, vec![(0, 20 * K64)]));
}

#[test]
fn allocated_ranges_check_their_input_and_access() {
    let mut c = Client::ready();
    c.put("f", &[1u8; 1024]);
    let fid = open(&mut c, "f", RW);
    let r = fsctl(&mut c, fid, FSCTL_QUERY_ALLOCATED_RANGES, &[], 1024);
    assert_eq!(r.status(), status::INVALID_PARAMETER, "no buffer");
    let r = fsctl(&mut c, fid, FSCTL_QUERY_ALLOCATED_RANGES, &pair(512, u64::MAX), 1024);
    assert_eq!(r.status(), status::INVALID_PARAMETER, "wraps around");
    let mut twice = pair(0, 1024);
    twice.extend_from_slice(&pair(0, 1024));
    let r = fsctl(&mut c, fid, FSCTL_QUERY_ALLOCATED_RANGES, &twice, 1024);
    assert_eq!(r.status(), status::SUCCESS, "an oversize buffer is read from its start");
    assert_eq!(qar(&mut c, fid, 0, 1024, 0).0, status::BUFFER_TOO_SMALL);
    for access in [FILE_READ_ATTRIBUTES, 0x8 /* FILE_READ_EA */] {
        let h = open(&mut c, "f", access);
        assert_eq!(qar(&mut c, h, 0, 1024, 1024).0, status::ACCESS_DENIED, "access {access:#x}");
    }
    let d = c.create("d", RW, SHARE_ALL, disposition::OPEN_IF, options::DIRECTORY_FILE).file_id();
    assert_eq!(qar(&mut c, d, 0, 1024, 1024).0, status::INVALID_PARAMETER, "a directory");
}
