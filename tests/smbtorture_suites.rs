//! Whole smbtorture suites against the tokio example server (as guest; the
//! session suite as a user; streams and ioctl on `--root` over tmpfs), each
//! compared
//! with a committed list of the tests allowed not to pass
//! (`tests/smbtorture/<suite>.allowed`, format below).
//!
//! A suite's test fails when
//! - a test not in the list fails, errors or skips, or a listed test ends
//!   with another outcome than the one listed (a listed skip that now fails);
//! - a listed test now passes: the list only shrinks, the message says which
//!   lines to remove;
//! - the suite ran fewer tests than the list's `# tests: N` header (it
//!   stopped early: a crash, a hang the wall-clock limit cut short);
//! - smbtorture did not finish within the wall-clock limit.
//!
//! List format: one test per line, `NAME OUTCOME # why`, where NAME is the
//! test's name inside the suite as smbtorture prints it (`smb2.lock.rw-none`
//! is `rw-none`; it may hold spaces), OUTCOME is `fail` (smbtorture's `failure:` or `error:`),
//! `skip`, or `flaky` (known to fail now and then: pass or fail accepted, a
//! known defect to fix), and the comment says why it is allowed and whether Samba's smbd,
//! run the same way, passes it (`smbd passes`: polyshare's debt) or not.
//! Blank lines and lines starting with `#` are comments. docs/CONFORMANCE.md
//! has the counts beside smbd's.

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The wall-clock limit of one suite: a hang fails here rather than
/// stalling CI. The longest suites (smb2.lease, about 180 s in a debug
/// build) take most of it; quick ones pass their own, shorter limit.
const SUITE_LIMIT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Pass,
    Fail,
    Skip,
    /// A list entry only: the test is known to fail intermittently (the
    /// comment says why); a pass or a fail is accepted, a skip is not.
    Flaky,
}

/// What the list file allows: the expected test count, and per test the
/// outcome allowed.
struct Allowed {
    tests: usize,
    entries: BTreeMap<String, Outcome>,
}

fn allowed_path(suite: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smbtorture").join(format!("{suite}.allowed"))
}

fn read_allowed(suite: &str) -> Allowed {
    let path = allowed_path(suite);
    let body = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut tests = None;
    let mut entries = BTreeMap::new();
    for (n, line) in body.lines().enumerate() {
        let line = line.trim();
        if let Some(c) = line.strip_prefix('#') {
            if let Some(v) = c.trim().strip_prefix("tests:") {
                tests = Some(v.trim().parse().unwrap_or_else(|_| panic!("{}:{}: bad count", path.display(), n + 1)));
            }
            continue;
        }
        let (entry, comment) = line.split_once('#').unwrap_or((line, ""));
        // The outcome is the last word; the name, everything before it
        // (some names hold spaces: smb2.delete-on-close-perms.`CREATE Existing`).
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let (name, last) = entry.rsplit_once(char::is_whitespace).unwrap_or((entry, ""));
        let name = name.trim();
        assert!(!comment.trim().is_empty(), "{}:{}: {name} has no `# why` comment", path.display(), n + 1);
        let outcome = match Some(last) {
            Some("fail") => Outcome::Fail,
            Some("skip") => Outcome::Skip,
            Some("flaky") => Outcome::Flaky,
            o => panic!("{}:{}: outcome must be fail, skip or flaky, not {o:?}", path.display(), n + 1),
        };
        assert!(entries.insert(name.to_string(), outcome).is_none(), "{}: {name} listed twice", path.display());
    }
    let tests = tests.unwrap_or_else(|| panic!("{}: no `# tests: N` header", path.display()));
    Allowed { tests, entries }
}

/// Parses smbtorture's default (subunit-like) output: `test: NAME` starts a
/// test, `success:`/`failure:`/`error:`/`skip:`/`xfail:`/`uxsuccess:` `NAME`
/// ends it (a `[` ... `]` block of detail may follow). A started test with
/// no end (smbtorture died in it) counts as failed.
fn parse(out: &str) -> BTreeMap<String, Outcome> {
    let mut seen = BTreeMap::new();
    let mut in_detail = false;
    for line in out.lines() {
        if in_detail {
            in_detail = line != "]";
            continue;
        }
        let Some((tag, rest)) = line.split_once(": ") else { continue };
        let name = rest.trim_end().trim_end_matches('[').trim_end().to_string();
        let outcome = match tag {
            "test" => {
                seen.entry(name).or_insert(Outcome::Fail);
                continue;
            }
            "success" | "xfail" => Outcome::Pass,
            "failure" | "error" | "uxsuccess" => Outcome::Fail,
            "skip" => Outcome::Skip,
            _ => continue,
        };
        in_detail = rest.trim_end().ends_with('[');
        seen.insert(name, outcome);
    }
    seen
}

/// Runs smbtorture with its output in a file, so what it printed before a
/// hang is still there to show.
fn run_suite(srv: &ServerProcess, suite: &str, extra: &[&str], limit: Duration) -> (String, Duration) {
    let out_path = scratch_dir("smbtorture").join("out.txt");
    let out = File::create(&out_path).expect("output file");
    let started = Instant::now();
    let mut child = Command::new("smbtorture")
        .arg("//127.0.0.1/share")
        .args(["-p", &srv.smb_port.to_string()])
        .args(extra)
        .arg(format!("smb2.{suite}"))
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("output file"))
        .stderr(out)
        .spawn()
        .expect("cannot run smbtorture");
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let text = std::fs::read_to_string(&out_path).unwrap_or_default();
            let last = text.lines().rev().find_map(|l| l.strip_prefix("test: ")).unwrap_or("?");
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            panic!(
                "smb2.{suite} did not finish within {limit:?}, last test started: {last}\n...\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (std::fs::read_to_string(&out_path).unwrap_or_default(), started.elapsed())
}

/// Runs `smb2.<suite>` whole against a fresh tokio_server started with
/// `server_args`, as smbtorture user `creds`, and checks the outcome
/// against the list.
fn check_suite(suite: &str, server_args: &[&str], creds: &str) {
    check_suite_within(suite, server_args, creds, SUITE_LIMIT);
}

/// [`check_suite`] with a wall-clock limit of its own.
fn check_suite_within(suite: &str, server_args: &[&str], creds: &str, limit: Duration) {
    check_suite_with(suite, server_args, creds, limit, &[]);
}

/// [`check_suite_within`] passing `torture_args` (`--option=...`) to
/// smbtorture.
fn check_suite_with(suite: &str, server_args: &[&str], creds: &str, limit: Duration, torture_args: &[&str]) {
    require_tool("smbtorture");
    let allowed = read_allowed(suite);
    let srv = ServerProcess::start("tokio_server", server_args);
    let args: Vec<&str> = ["-U", creds].into_iter().chain(torture_args.iter().copied()).collect();
    let (out, took) = run_suite(&srv, suite, &args, limit);
    let seen = parse(&out);
    eprintln!("smb2.{suite}: {} tests in {:.1} s", seen.len(), took.as_secs_f64());

    let mut problems = Vec::new();
    let mut now_pass = Vec::new();
    for (name, &got) in &seen {
        match (allowed.entries.get(name), got) {
            (None, Outcome::Pass) => {}
            (None, o) => problems.push(format!("{name}: {o:?}, not in the list")),
            (Some(Outcome::Flaky), Outcome::Pass | Outcome::Fail) => {}
            (Some(_), Outcome::Pass) => now_pass.push(name.as_str()),
            (Some(&want), o) if want != o => problems.push(format!("{name}: {o:?}, the list says {want:?}")),
            _ => {}
        }
    }
    if !now_pass.is_empty() {
        problems.push(format!("now passing, remove from {}: {}", allowed_path(suite).display(), now_pass.join(" ")));
    }
    let stale: Vec<&str> = allowed.entries.keys().filter(|n| !seen.contains_key(*n)).map(String::as_str).collect();
    if seen.len() < allowed.tests {
        problems.push(format!("ran {} tests, expected {} (stopped early?)", seen.len(), allowed.tests));
    } else if !stale.is_empty() {
        problems.push(format!("listed but not run (renamed?): {}", stale.join(" ")));
    }
    assert!(
        problems.is_empty(),
        "smb2.{suite} against tokio_server:\n  {}\n\nsmbtorture output:\n{out}\n\nserver log: {}",
        problems.join("\n  "),
        srv.log.display()
    );
}

#[test]
fn smb2_oplock() {
    check_suite("oplock", &[], "guest%");
}

#[test]
fn smb2_lease() {
    check_suite("lease", &[], "guest%");
}

#[test]
fn smb2_lock() {
    check_suite("lock", &[], "guest%");
}

#[test]
fn smb2_durable_open() {
    check_suite("durable-open", &[], "guest%");
}

#[test]
fn smb2_durable_v2_open() {
    check_suite("durable-v2-open", &[], "guest%");
}

/// As a user (re-authentication, signing and logoff need one); guest stays
/// on, as smbd's `map to guest = Bad User`. The suite takes a few seconds:
/// a minute means a hang.
#[test]
fn smb2_session() {
    check_suite_within("session", &["--user", "torture:Torture1"], "torture%Torture1", Duration::from_secs(60));
}

/// `smb2.<suite>` against the tokio example serving a fresh directory on
/// tmpfs (`--root`, LocalFs: DOS attributes and the creation time in the
/// `user.DOSATTRIB` extended attribute, streams in `user.DosStream.*` as
/// smbd's streams_xattr keeps them), as guest.
fn check_suite_on_root(suite: &str) {
    check_suite_on_root_within(suite, SUITE_LIMIT);
}

/// [`check_suite_on_root`] with a wall-clock limit of its own.
fn check_suite_on_root_within(suite: &str, limit: Duration) {
    let root = tmpfs_root(&format!("torture-{suite}"));
    let root_arg = root.to_str().expect("utf-8 path").to_string();
    check_suite_within(suite, &["--root", &root_arg], "guest%", limit);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn smb2_create() {
    check_suite_on_root("create");
}

#[test]
fn smb2_getinfo() {
    check_suite_on_root("getinfo");
}

#[test]
fn smb2_setinfo() {
    check_suite_on_root("setinfo");
}

#[test]
fn smb2_dir() {
    check_suite_on_root("dir");
}

#[test]
fn smb2_rename() {
    check_suite_on_root("rename");
}

#[test]
fn smb2_rw() {
    check_suite_on_root("rw");
}

#[test]
fn smb2_read() {
    check_suite_on_root("read");
}

#[test]
fn smb2_delete_on_close_perms() {
    check_suite_on_root("delete-on-close-perms");
}

#[test]
fn smb2_sharemode() {
    check_suite_on_root("sharemode");
}

#[test]
fn smb2_timestamps() {
    check_suite_on_root("timestamps");
}

#[test]
fn smb2_dosmode() {
    check_suite_on_root("dosmode");
}

#[test]
fn smb2_fileid() {
    check_suite_on_root("fileid");
}

#[test]
fn smb2_mkdir() {
    check_suite_on_root("mkdir");
}

/// Extended attributes: the one test sets an EA, then checks that the
/// attribute the security descriptor is kept in (LocalFs's
/// `user.polyshare.NTACL`, the EA `polyshare.NTACL`) is neither listed nor
/// settable as an EA. Under a second: a minute means a hang.
#[test]
fn smb2_ea() {
    let root = tmpfs_root("torture-ea");
    let root_arg = root.to_str().expect("utf-8 path").to_string();
    let limit = Duration::from_secs(60);
    let name = "--option=torture:acl_xattr_name=polyshare.NTACL";
    check_suite_with("ea", &["--root", &root_arg], "guest%", limit, &[name]);
    let _ = std::fs::remove_dir_all(&root);
}

/// Alternate data streams; a few seconds: a minute means a hang.
#[test]
fn smb2_streams() {
    check_suite_on_root_within("streams", Duration::from_secs(60));
}

/// FSCTLs: server-side copy, sparse files, compression. The copychunk
/// tests move a few MiB; the suite takes seconds: two minutes mean a hang.
#[test]
fn smb2_ioctl() {
    check_suite_on_root_within("ioctl", Duration::from_secs(120));
}

#[test]
fn parses_smbtorture_output() {
    let out = "test: a\nsuccess: a\ntest: b\nfailure: b [\nx.c:1: no\nsuccess: b\n]\ntest: c\nskip: c [\nwhy\n]\n\
               test: d\nerror: d [\n]\ntest: e\n";
    let seen = parse(out);
    let want =
        [("a", Outcome::Pass), ("b", Outcome::Fail), ("c", Outcome::Skip), ("d", Outcome::Fail), ("e", Outcome::Fail)];
    assert_eq!(seen, want.iter().map(|(n, o)| (n.to_string(), *o)).collect());
}
