//! Support for the real-client tests: start an example server as a child
//! process on free loopback ports, find the client tools, run them with a
//! time limit. Servers are stopped by their own PID when the test ends.

#![allow(dead_code)]

pub mod nfs_client;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running example server; killed (by PID) on drop.
pub struct ServerProcess {
    child: Child,
    pub smb_port: u16,
    pub nfs_port: u16,
    pub log: PathBuf,
    pub name: &'static str,
}

/// The example servers of this workspace: `tokio_server`, `mio_server`,
/// `async_std_server`, `std_server`.
pub fn example_path(name: &str) -> PathBuf {
    // target/<profile>/deps/<test binary> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: build the examples first (`cargo build --examples`, as scripts/test.sh does)",
        path.display()
    );
    path
}

impl ServerProcess {
    /// Starts example `name` with `args` plus ephemeral ports, and waits for
    /// its `LISTENING smb=P nfs=Q` line.
    pub fn start(name: &'static str, args: &[&str]) -> Self {
        let flags = ["--listen", "127.0.0.1", "--smb-port", "0", "--nfs-port", "0"];
        Self::start_exe(name, &example_path(name), &[&flags[..], args].concat())
    }

    /// Starts the program `exe` (reported as `name`) with exactly `args`,
    /// and waits for its `LISTENING smb=P nfs=Q` line.
    pub fn start_exe(name: &'static str, exe: &Path, args: &[&str]) -> Self {
        let log = std::env::temp_dir().join(format!("polyshare-{name}-{}-{}.log", std::process::id(), unique()));
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut child = Command::new(exe)
            .args(args)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("LISTENING") {
                    let _ = tx.send(line);
                }
            }
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("{name} did not report LISTENING; log: {}", std::fs::read_to_string(&log).unwrap_or_default());
            }
        };
        let port = |key: &str| -> u16 {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(key))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {key} in {line:?}"))
        };
        Self { smb_port: port("smb="), nfs_port: port("nfs="), child, log, name }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `nfs://127.0.0.1/share?...` for libnfs with MOUNT and NFS on one port.
    pub fn nfs_url(&self, path: &str) -> String {
        self.nfs_url_on("/share", path)
    }

    /// [`Self::nfs_url`] for the export `export` ("/name").
    pub fn nfs_url_on(&self, export: &str, path: &str) -> String {
        format!("nfs://127.0.0.1{export}{path}?nfsport={p}&mountport={p}", p = self.nfs_port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`-TERM`, `-HUP`...) to the server.
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill").args([signal, &self.pid().to_string()]).status().is_ok_and(|s| s.success());
        assert!(ok, "kill {signal} {}", self.pid());
    }

    /// Waits for the server to exit, at most `limit` (then kills it and
    /// panics): its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{} did not exit within {limit:?}; log: {}", self.name, self.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// smbclient on the server's share with `auth` (`-N`, `-U user%pass`...),
/// an optional `-m` dialect, running `cmds` (`-c`), within 300 s.
pub fn smbclient(srv: &ServerProcess, auth: &[&str], dialect: Option<&str>, cmds: &str) -> Output {
    smbclient_on(srv, "share", auth, dialect, cmds)
}

/// [`smbclient`] on the share `share`.
pub fn smbclient_on(srv: &ServerProcess, share: &str, auth: &[&str], dialect: Option<&str>, cmds: &str) -> Output {
    require_tool("smbclient");
    let mut c = Command::new("smbclient");
    c.arg(format!("//127.0.0.1/{share}")).args(["-p", &srv.smb_port.to_string()]).args(auth);
    if let Some(d) = dialect {
        c.args(["-m", d]);
    }
    c.args(["-c", cmds]);
    run(&mut c, Duration::from_secs(300))
}

/// A fresh scratch directory under the system temp dir.
pub fn scratch_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("polyshare-{tag}-{}-{}", std::process::id(), unique()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// A fresh directory on tmpfs, writable by everyone (as /tmp is, without
/// the sticky bit), so that what the server refuses there is refused by
/// the modes of the files in it. Removed with everything in it when the
/// returned value is dropped (tmpfs is memory).
pub fn tmpfs_root(tag: &str) -> TmpfsDir {
    let d = PathBuf::from(format!("/dev/shm/polyshare-sec-{tag}-{}-{}", std::process::id(), unique()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
    TmpfsDir(d)
}

/// A directory [`tmpfs_root`] made; it goes when this is dropped.
#[derive(Debug)]
pub struct TmpfsDir(PathBuf);

impl std::ops::Deref for TmpfsDir {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl AsRef<Path> for TmpfsDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TmpfsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `name` in `dir` holding `bytes`, owned by `uid`:`uid`, with `mode`.
pub fn owned_file(dir: &Path, name: &str, bytes: &[u8], uid: u32, mode: u32) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    std::os::unix::fs::chown(&p, Some(uid), Some(uid)).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

/// Fails (never skips) when a client tool the tests rely on is missing.
pub fn require_tool(tool: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(found, "{tool} is not installed: run scripts/test.sh, which installs it");
}

/// Runs `cmd` with a time limit; kills it and panics past the limit.
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: t_out.join().unwrap_or_default(), stderr: t_err.join().unwrap_or_default() }
}

pub fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Deterministic test content of `len` bytes.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    let mut x = seed as u32 | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A tshark capture on the loopback interface for one TCP port.
pub struct Capture {
    child: Child,
    pub file: PathBuf,
    port: u16,
}

impl Capture {
    pub fn start(port: u16) -> Self {
        require_tool("tshark");
        let file = std::env::temp_dir().join(format!("polyshare-cap-{}-{}.pcapng", std::process::id(), unique()));
        let mut child = Command::new("tshark")
            .args(["-i", "lo", "-f", &format!("tcp port {port}"), "-w"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tshark");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Capturing on") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(30)).expect("tshark did not start capturing");
        // "Capturing on" is printed just before the capture is live.
        std::thread::sleep(Duration::from_secs(1));
        Self { child, file, port }
    }

    /// Stops the capture (SIGINT, so the file is complete) and returns the
    /// lines of `tshark -r` with the given decode-as and fields.
    pub fn finish(self, decode_as: &str, fields: &[&str]) -> Vec<String> {
        self.finish_each(decode_as, &[&[]], fields).remove(0)
    }

    /// [`Capture::finish`], and tshark's expert summary of the capture
    /// (`tshark -r ... -q -z expert`).
    pub fn finish_with_expert(mut self, decode_as: &str, fields: &[&str]) -> (Vec<String>, String) {
        self.stop();
        let decode = format!("tcp.port=={},{decode_as}", self.port);
        let mut e = Command::new("tshark");
        e.arg("-r").arg(&self.file).args(["-d", &decode, "-q", "-z", "expert"]);
        let o = run(&mut e, Duration::from_secs(120));
        assert!(o.status.success(), "tshark -z expert failed: {}", text(&o));
        let expert = String::from_utf8_lossy(&o.stdout).to_string();
        let lines = self.read(decode_as, &[], fields);
        let _ = std::fs::remove_file(&self.file);
        (lines, expert)
    }

    /// As [`Capture::finish`], reading the capture once per set of extra
    /// `-o` preferences (such as decryption keys).
    pub fn finish_each(mut self, decode_as: &str, prefs: &[&[&str]], fields: &[&str]) -> Vec<Vec<String>> {
        self.stop();
        let runs = prefs.iter().map(|set| self.read(decode_as, set, fields)).collect();
        let _ = std::fs::remove_file(&self.file);
        runs
    }

    fn stop(&mut self) {
        std::thread::sleep(Duration::from_millis(500));
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }

    /// The lines of `tshark -r` with `prefs` (`-o`) and `fields`.
    fn read(&self, decode_as: &str, prefs: &[&str], fields: &[&str]) -> Vec<String> {
        let mut c = Command::new("tshark");
        c.arg("-r").arg(&self.file).args(["-d", &format!("tcp.port=={},{decode_as}", self.port), "-T", "fields"]);
        for p in prefs {
            c.args(["-o", p]);
        }
        for f in fields {
            c.args(["-e", f]);
        }
        let o = run(&mut c, Duration::from_secs(120));
        assert!(o.status.success(), "tshark -r failed: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Expert severities as tshark prints them: "error" is the one we gate on.
pub fn assert_no_error_severity(lines: &[String], what: &str) {
    let bad: Vec<&String> =
        lines.iter().filter(|l| l.split([',', '\t']).any(|f| f.trim() == "error" || f.trim() == "8388608")).collect();
    assert!(bad.is_empty(), "{what}: tshark reports error-severity expert items:\n{bad:#?}");
}

/// `tshark -z expert` lists items by severity under headings such as
/// "Errors (2)"; a capture with none has no such heading.
pub fn assert_no_expert_errors(expert: &str, what: &str) {
    let errors = expert.lines().any(|l| l.trim_start().starts_with("Errors ("));
    assert!(!errors, "{what}: tshark -z expert reports errors:\n{expert}");
}

/// A line-oriented child process (the Python clients): commands on stdin,
/// replies read line by line with time limits.
pub struct Scripted {
    child: Child,
    stdin: std::process::ChildStdin,
    lines: mpsc::Receiver<String>,
    pub transcript: Vec<String>,
}

impl Scripted {
    pub fn spawn(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, stdin, lines: rx, transcript: Vec::new() }
    }

    pub fn send(&mut self, line: &str) {
        use std::io::Write;
        self.transcript.push(format!("> {line}"));
        writeln!(self.stdin, "{line}").expect("client stdin");
        self.stdin.flush().expect("flush");
    }

    /// The next line; panics if none comes within `limit`.
    pub fn line(&mut self, limit: Duration) -> String {
        match self.lines.recv_timeout(limit) {
            Ok(l) => {
                self.transcript.push(l.clone());
                l
            }
            Err(_) => panic!("no line from client within {limit:?}; transcript: {:#?}", self.transcript),
        }
    }

    /// The next line, which must start with `prefix`; returns its words after it.
    pub fn expect(&mut self, prefix: &str, limit: Duration) -> Vec<String> {
        let l = self.line(limit);
        assert!(l.starts_with(prefix), "expected {prefix:?}, got {l:?}; transcript: {:#?}", self.transcript);
        l[prefix.len()..].split_whitespace().map(str::to_string).collect()
    }

    /// Asserts that the client prints nothing for `d`.
    pub fn quiet_for(&mut self, d: Duration) {
        if let Ok(l) = self.lines.recv_timeout(d) {
            panic!("unexpected line {l:?}; transcript: {:#?}", self.transcript);
        }
    }

    pub fn try_line(&mut self, limit: Duration) -> Option<String> {
        self.lines.recv_timeout(limit).ok()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn lease_holder(srv: &ServerProcess, path: &str, state: &str, version: &str, dialect: &str) -> Scripted {
    lease_holder_of(srv, path, state, version, dialect, "file")
}

/// The Python that has the tests' packages (smbprotocol): `$POLYSHARE_PYTHON`,
/// else the virtual environment scripts/test.sh makes (target/test-venv),
/// else `python3` from the PATH.
pub fn python3() -> Command {
    if let Some(p) = std::env::var_os("POLYSHARE_PYTHON") {
        return Command::new(p);
    }
    let venv = workspace_root().join("target/test-venv/bin/python3");
    Command::new(if venv.exists() { venv.into_os_string() } else { "python3".into() })
}

/// The workspace root: the nearest ancestor of the crate that holds
/// tests/clients (the tests of server/ include this file too).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.ancestors().find(|d| d.join("tests/clients").is_dir()).expect("the workspace root").to_path_buf()
}

/// tests/clients/NAME.
pub fn client_script(name: &str) -> PathBuf {
    workspace_root().join("tests/clients").join(name)
}

/// [`lease_holder`] on share `share`, as a guest.
pub fn lease_holder_on(srv: &ServerProcess, share: &str, path: &str, state: &str) -> Scripted {
    lease_holder_as(srv, share, path, state, "-", "-")
}

/// [`lease_holder_on`] as `user` with `password` ("-" for guest).
pub fn lease_holder_as(
    srv: &ServerProcess,
    share: &str,
    path: &str,
    state: &str,
    user: &str,
    password: &str,
) -> Scripted {
    let script = client_script("lease_holder.py");
    let share = format!("share={share}");
    Scripted::spawn(python3().arg(script).args([
        &srv.smb_port.to_string(),
        path,
        state,
        "v2",
        "3.1.1",
        user,
        password,
        &share,
    ]))
}

/// [`lease_holder`] for `kind` "file" or "dir" (a directory lease on `path`).
pub fn lease_holder_of(
    srv: &ServerProcess,
    path: &str,
    state: &str,
    version: &str,
    dialect: &str,
    kind: &str,
) -> Scripted {
    let script = client_script("lease_holder.py");
    Scripted::spawn(python3().arg(script).args([
        &srv.smb_port.to_string(),
        path,
        state,
        version,
        dialect,
        "-",
        "-",
        kind,
    ]))
}
