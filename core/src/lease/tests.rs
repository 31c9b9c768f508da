use super::*;

#[test]
fn share_modes_conflict_both_ways() {
    let mut t = LeaseTable::new(Duration::from_secs(35));
    let c = ConnId(1);
    let a = t.add_open(7, access::FILE_READ_DATA, share::READ, c);
    assert_eq!(t.check_share(7, access::FILE_READ_DATA, share::READ | share::WRITE), Ok(()));
    assert_eq!(t.check_share(7, access::FILE_WRITE_DATA, share::READ | share::WRITE), Err(SharingViolation));
    // The new open refuses to share reading with an existing reader.
    assert_eq!(t.check_share(7, access::FILE_READ_ATTRIBUTES, share::WRITE), Err(SharingViolation));
    // A stat open sharing everything never conflicts.
    assert_eq!(t.check_share(7, access::FILE_READ_ATTRIBUTES, 7), Ok(()));
    assert_eq!(t.check_share(8, access::FILE_WRITE_DATA, 0), Ok(()));
    t.remove_open(a);
    assert_eq!(t.check_share(7, access::FILE_WRITE_DATA, 0), Ok(()));
    assert_eq!(t.opens_on(7).count(), 0);
}
