//! The delayed last-write time (smb/write_time.rs) on the virtual clock:
//! the first write moves it [`DELAY`] later, a second write waits for the
//! close, FLUSH and SET_INFO show a pending write, a time set by the client
//! sticks for its open, -1 freezes and -2 thaws; storage (what NFS sees)
//! moves with every write and agrees again at each update.

use super::*;
use crate::smb::write_time::DELAY;

const FILE_BASIC_INFORMATION: u8 = 4;
const FILE_INTERNAL_INFORMATION: u8 = 6;
const FILE_END_OF_FILE_INFORMATION: u8 = 20;
const POSTQUERY_ATTRIB: u16 = 1;

/// The LastWriteTime SMB reports through `fid`.
fn smb_time(c: &mut Client, fid: FileId) -> u64 {
    let r = c.call(command::QUERY_INFO, &query_info_body(fid, 1, FILE_BASIC_INFORMATION));
    assert_eq!(r.status(), status::SUCCESS);
    u64_at(&r.body, 8 + 16).unwrap()
}

/// The mtime storage has for the file of `fid` (what an NFS GETATTR reads).
fn stored_time(c: &mut Client, fid: FileId) -> u64 {
    let r = c.call(command::QUERY_INFO, &query_info_body(fid, 1, FILE_INTERNAL_INFORMATION));
    let id = u64_at(&r.body, 8).unwrap();
    c.server.vfs().getattr(id).unwrap().mtime.to_filetime()
}

/// The wall-clock time of the client's `now`, as a FILETIME.
fn wall(c: &Client) -> u64 {
    c.server.core().wall(c.now).to_filetime()
}

fn later(c: &mut Client, d: Duration) {
    c.now += d;
    c.server.handle_timeout(c.now);
}

fn write(c: &mut Client, fid: FileId) {
    assert_eq!(c.call(command::WRITE, &write_body(fid, 0, b"s")).status(), status::SUCCESS);
}

/// CLOSE with POSTQUERY_ATTRIB: the LastWriteTime it reports.
fn close_time(c: &mut Client, fid: FileId) -> u64 {
    let r = c.call(command::CLOSE, &close_body(fid, POSTQUERY_ATTRIB));
    assert_eq!(r.status(), status::SUCCESS);
    u64_at(&r.body, 24).unwrap()
}

/// FILE_BASIC_INFORMATION with only LastWriteTime set.
fn basic_info(last_write: u64) -> Vec<u8> {
    let mut b = vec![0; 40];
    b[16..24].copy_from_slice(&last_write.to_le_bytes());
    b
}

fn open_new(c: &mut Client, name: &str) -> (FileId, u64) {
    let r = c.create(name, RW, SHARE_ALL, disposition::CREATE, 0);
    assert_eq!(r.status(), status::SUCCESS);
    (r.file_id(), u64_at(&r.body, 24).unwrap())
}

#[test]
fn the_first_write_moves_the_time_after_the_delay_and_the_close_after_a_second_write() {
    let mut c = Client::ready();
    let (fid, created) = open_new(&mut c, "f");
    later(&mut c, Duration::from_secs(1));
    write(&mut c, fid);
    let written = wall(&c);
    // SMB still reports the time at create; storage moved with the write.
    assert_eq!(smb_time(&mut c, fid), created);
    assert_eq!(stored_time(&mut c, fid), written);
    assert_eq!(c.server.poll_timeout(), Some(c.now + DELAY), "the update is a deadline of the core");
    later(&mut c, DELAY - Duration::from_millis(1));
    assert_eq!(smb_time(&mut c, fid), created, "not before the delay");
    later(&mut c, Duration::from_millis(1));
    let updated = wall(&c);
    assert_eq!(smb_time(&mut c, fid), updated);
    assert_eq!(stored_time(&mut c, fid), updated);
    // A second write waits for the close.
    later(&mut c, Duration::from_secs(1));
    write(&mut c, fid);
    assert_eq!(c.server.poll_timeout(), None, "no second delayed update");
    later(&mut c, Duration::from_secs(5));
    assert_eq!(smb_time(&mut c, fid), updated);
    later(&mut c, Duration::from_secs(2));
    let closed = wall(&c);
    assert_eq!(close_time(&mut c, fid), closed);
    let again = c.create("f", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
    assert_eq!(stored_time(&mut c, again), closed);
}

#[test]
fn a_close_after_the_update_keeps_it_and_a_close_before_it_sets_the_time() {
    let mut c = Client::ready();
    let (fid, _) = open_new(&mut c, "once");
    write(&mut c, fid);
    later(&mut c, DELAY);
    let updated = wall(&c);
    later(&mut c, Duration::from_secs(3));
    assert_eq!(close_time(&mut c, fid), updated, "nothing written since the update");

    let (fid, created) = open_new(&mut c, "early");
    later(&mut c, Duration::from_millis(500));
    write(&mut c, fid);
    later(&mut c, Duration::from_millis(500));
    let closed = wall(&c);
    assert!(closed > created);
    assert_eq!(close_time(&mut c, fid), closed, "the pending update happens at the close");
    assert_eq!(c.server.poll_timeout(), None, "and its deadline is gone");
}

#[test]
fn flush_and_end_of_file_show_a_pending_write() {
    let mut c = Client::ready();
    let (fid, created) = open_new(&mut c, "f");
    later(&mut c, Duration::from_secs(1));
    write(&mut c, fid);
    assert_eq!(smb_time(&mut c, fid), created);
    assert_eq!(c.call(command::FLUSH, &fid_body(24, fid, 8, &[])).status(), status::SUCCESS);
    let flushed = wall(&c);
    assert_eq!(smb_time(&mut c, fid), flushed);
    assert_eq!(c.server.poll_timeout(), None, "the delayed update is done");
    later(&mut c, Duration::from_secs(4));
    assert_eq!(close_time(&mut c, fid), flushed);

    let (fid, created) = open_new(&mut c, "g");
    later(&mut c, Duration::from_secs(1));
    write(&mut c, fid);
    assert_eq!(smb_time(&mut c, fid), created);
    // The same size still shows the write.
    let eof = c.call(command::SET_INFO, &set_info_body(fid, FILE_END_OF_FILE_INFORMATION, &1u64.to_le_bytes()));
    assert_eq!(eof.status(), status::SUCCESS);
    assert_eq!(smb_time(&mut c, fid), wall(&c));
}

#[test]
fn basic_information_shows_a_pending_write_even_with_every_time_zero() {
    let mut c = Client::ready();
    let (fid, created) = open_new(&mut c, "f");
    later(&mut c, Duration::from_secs(1));
    write(&mut c, fid);
    assert_eq!(smb_time(&mut c, fid), created);
    let r = c.call(command::SET_INFO, &set_info_body(fid, FILE_BASIC_INFORMATION, &basic_info(0)));
    assert_eq!(r.status(), status::SUCCESS);
    assert_eq!(smb_time(&mut c, fid), wall(&c));
}

#[test]
fn a_time_the_client_sets_sticks_for_its_open_and_its_close() {
    let mut c = Client::ready();
    let (fid, _) = open_new(&mut c, "f");
    let set = wall(&c) + 86_400 * 10_000_000;
    let r = c.call(command::SET_INFO, &set_info_body(fid, FILE_BASIC_INFORMATION, &basic_info(set)));
    assert_eq!(r.status(), status::SUCCESS);
    later(&mut c, Duration::from_secs(1));
    write(&mut c, fid);
    assert_eq!(c.server.poll_timeout(), None, "no update scheduled");
    later(&mut c, Duration::from_secs(5));
    assert_eq!(smb_time(&mut c, fid), set);
    // Storage moved with the write; the close writes the client's time back.
    assert_ne!(stored_time(&mut c, fid), set);
    assert_eq!(close_time(&mut c, fid), set);
    let again = c.create("f", RW, SHARE_ALL, disposition::OPEN, 0).file_id();
    assert_eq!(stored_time(&mut c, again), set);
}

#[test]
fn minus_one_freezes_the_time_and_minus_two_thaws_it() {
    let mut c = Client::ready();
    let (fid, created) = open_new(&mut c, "f");
    let freeze = c.call(command::SET_INFO, &set_info_body(fid, FILE_BASIC_INFORMATION, &basic_info(u64::MAX)));
    assert_eq!(freeze.status(), status::SUCCESS);
    assert_eq!(smb_time(&mut c, fid), created, "-1 changes nothing");
    later(&mut c, Duration::from_secs(1));
    write(&mut c, fid);
    assert_eq!(c.server.poll_timeout(), None, "frozen: no update");
    later(&mut c, Duration::from_secs(3));
    assert_eq!(smb_time(&mut c, fid), created);
    let thaw = c.call(command::SET_INFO, &set_info_body(fid, FILE_BASIC_INFORMATION, &basic_info(u64::MAX - 1)));
    assert_eq!(thaw.status(), status::SUCCESS);
    assert_eq!(smb_time(&mut c, fid), created, "-2 changes nothing either");
    write(&mut c, fid);
    assert_eq!(c.server.poll_timeout(), Some(c.now + DELAY), "thawed: the next write schedules the update");
    later(&mut c, DELAY);
    assert_eq!(smb_time(&mut c, fid), wall(&c));
}
