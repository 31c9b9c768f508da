//! `Server::snapshot` of an SMB session: what `polyshare status` shows.

use super::limits::login_alice;
use super::*;

#[test]
fn the_snapshot_names_each_opens_share_and_path() {
    let (mut c, _) = login_alice(Config::default(), 0);
    let t = c.tree_connect("\\\\x\\share");
    assert_eq!(t.status(), status::SUCCESS);
    c.tree = t.hdr.tree_id;
    assert_eq!(c.create("d", RW, SHARE_ALL, disposition::CREATE, options::DIRECTORY_FILE).status(), status::SUCCESS);
    assert_eq!(c.create("d\\e", RW, SHARE_ALL, disposition::CREATE, options::DIRECTORY_FILE).status(), status::SUCCESS);
    assert_eq!(c.create("d\\e\\f.txt", RW, SHARE_ALL, disposition::CREATE, 0).status(), status::SUCCESS);
    let snap = c.server.snapshot();
    let s = &snap.sessions[0];
    assert_eq!((s.user.as_str(), s.encryption), ("alice", false));
    let mut paths: Vec<(String, String)> = s.opens.iter().map(|o| (o.share.clone(), o.path.clone())).collect();
    paths.sort();
    let want = ["d", "d\\e", "d\\e\\f.txt"].map(|p| ("share".to_string(), p.to_string()));
    assert_eq!(paths, want);
}
