//! The TOML configuration file of `polyshare serve --config FILE`: its
//! schema, and its mapping onto the core's [`Config`] and the adapter's
//! [`ServerOptions`]. Every error names the line it comes from: unknown keys
//! and ill-typed values (from the TOML parser), duplicate shares, bad
//! addresses, missing directories.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use polyshare_core::config::{AddrRange, Export, NfsBreakPolicy, Share, Squash};
use polyshare_core::{Config, Protocol, Seed};
use polyshare_runtime::ServerOptions;

use crate::storage::Storage;
use serde::Deserialize;
use toml::Spanned;

/// A configuration error, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the error is in.
    pub file: PathBuf,
    /// 1-based line; 0 when the error concerns the whole file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file.display(), self.message),
            n => write!(f, "{}: line {n}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// What `polyshare serve` runs: where it listens, what it serves, and the
/// files it reads. Built from the configuration file, or from the flags
/// alone (then exactly what the `tokio_server` example serves).
#[derive(Debug, Clone)]
pub struct Deployment {
    /// Listener addresses and the recording file.
    pub options: ServerOptions,
    /// The core's configuration (users included once the database is read).
    pub config: Config,
    /// Without a configuration file: the directory served (`None`: an
    /// in-memory tree), the one tree of every share.
    pub root: Option<PathBuf>,
    /// With one: the storage of each share (`config.smb.shares[i]` and
    /// `config.nfs.exports[i]`), each mounted in a composite tree
    /// ([`crate::storage`]).
    pub storage: Vec<Storage>,
    /// The user database ([`crate::users`]), read at start and on reload.
    pub users_file: Option<PathBuf>,
    /// Log filter (tracing-subscriber env-filter syntax).
    pub log: Option<String>,
    /// For tests only: a fixed seed.
    pub seed: Option<Seed>,
    /// The owner-only Unix socket `polyshare status` reads from.
    pub control_socket: Option<PathBuf>,
    /// Where the Prometheus endpoint listens, if anywhere.
    pub metrics: Option<SocketAddr>,
}

// The file's schema. `deny_unknown_fields` makes a misspelt key an error at
// its line rather than a silently ignored setting.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    server: ServerSection,
    /// Gone: each share names its own storage. Kept in the schema to say
    /// so at its line.
    storage: Option<Spanned<toml::Value>>,
    #[serde(default)]
    limits: LimitsSection,
    #[serde(default)]
    log: LogSection,
    #[serde(default)]
    metrics: MetricsSection,
    #[serde(default)]
    share: Vec<Spanned<ShareSection>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    listen: Option<IpAddr>,
    smb_port: Option<Spanned<u16>>,
    nfs_port: Option<Spanned<u16>>,
    /// Every address SMB listens on (`["0.0.0.0:445", "[::]:445"]`), in
    /// place of `listen` and `smb_port`.
    smb_listen: Option<Spanned<Vec<SocketAddr>>>,
    /// Every address NFS, MOUNT and the portmapper listen on.
    nfs_listen: Option<Spanned<Vec<SocketAddr>>>,
    portmap_port: Option<u16>,
    name: Option<String>,
    domain: Option<String>,
    guest: Option<bool>,
    guest_uid: Option<u32>,
    guest_gid: Option<u32>,
    require_signing: Option<bool>,
    require_encryption: Option<bool>,
    users: Option<Spanned<PathBuf>>,
    break_timeout: Option<Spanned<f64>>,
    nfs_idle_timeout: Option<Spanned<f64>>,
    record: Option<PathBuf>,
    seed: Option<u64>,
    control_socket: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    max_smb_connections: Option<usize>,
    max_nfs_connections: Option<usize>,
    max_opens_per_session: Option<usize>,
    max_parked: Option<usize>,
    max_outstanding_per_conn: Option<usize>,
    /// Threads that run storage requests (polyshare_runtime::WorkerPool).
    io_workers: Option<usize>,
    /// Storage requests handed out at once (Limits::max_io_in_flight).
    max_io_in_flight: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSection {
    level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsSection {
    listen: Option<SocketAddr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareSection {
    name: Spanned<String>,
    path: Option<Spanned<PathBuf>>,
    memory: Option<Spanned<bool>>,
    export: Option<Spanned<String>>,
    #[serde(default)]
    read_only: bool,
    guest_ok: Option<bool>,
    #[serde(default)]
    guest_read_only: bool,
    create_mask: Option<Spanned<String>>,
    directory_mask: Option<Spanned<String>>,
    #[serde(default)]
    require_encryption: bool,
    #[serde(default)]
    nfs_clients: Vec<Spanned<String>>,
    #[serde(default)]
    squash: SquashName,
    anon_uid: Option<u32>,
    anon_gid: Option<u32>,
    #[serde(default)]
    secure: bool,
    #[serde(default)]
    nfs_policy: PolicyName,
    /// Seconds an NFS call of this export parked behind a break waits for
    /// its acknowledgment (only shortens the server's `break_timeout`).
    break_timeout: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum SquashName {
    #[default]
    Root,
    All,
    None,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum PolicyName {
    #[default]
    Wait,
    Jukebox,
}

/// Default ports with a configuration file: the protocols' own.
const SMB_PORT: u16 = 445;
const NFS_PORT: u16 = 2049;

struct Located<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Located<'_> {
    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())].matches('\n').count() + 1
    }

    fn err(&self, span: Option<Range<usize>>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            line: span.map_or(0, |s| self.line(s.start)),
            message: message.into(),
        }
    }
}

fn secs(loc: &Located<'_>, key: &str, v: &Spanned<f64>) -> Result<Duration, ConfigError> {
    Duration::try_from_secs_f64(*v.get_ref())
        .map_err(|e| loc.err(Some(v.span()), format!("`{key}`: {e} (seconds, >= 0)")))
}

/// Reads and checks the configuration file at `path`.
pub fn load(path: &Path) -> Result<Deployment, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        line: 0,
        message: e.to_string(),
    })?;
    parse(path, &text)
}

/// Checks `text`, the content of the configuration file `path`.
pub fn parse(path: &Path, text: &str) -> Result<Deployment, ConfigError> {
    let loc = Located { file: path, text };
    let file: File = toml::from_str(text).map_err(|e| loc.err(e.span(), e.message().trim_end()))?;
    let s = &file.server;

    let listen = s.listen.unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let at = |port: u16| Some(SocketAddr::new(listen, port));
    let mut options =
        ServerOptions { portmap: s.portmap_port.and_then(at), record: s.record.clone(), ..ServerOptions::default() };
    for (list, port, default, key, protocol) in [
        (&s.smb_listen, &s.smb_port, SMB_PORT, "smb", Protocol::Smb),
        (&s.nfs_listen, &s.nfs_port, NFS_PORT, "nfs", Protocol::Nfs),
    ] {
        let addrs = match (list, port) {
            (Some(_), Some(p)) => {
                return Err(loc.err(Some(p.span()), format!("`{key}_port` with `{key}_listen`: give the port there")));
            }
            (Some(l), None) if l.get_ref().is_empty() => {
                return Err(loc.err(Some(l.span()), format!("`{key}_listen` is empty")));
            }
            (Some(l), None) => l.get_ref().clone(),
            (None, p) => vec![SocketAddr::new(listen, p.as_ref().map_or(default, |p| *p.get_ref()))],
        };
        let primary = match protocol {
            Protocol::Smb => &mut options.smb,
            Protocol::Nfs => &mut options.nfs,
        };
        *primary = addrs.first().copied();
        options.also.extend(addrs.iter().skip(1).map(|a| (*a, protocol)));
    }

    if let Some(st) = &file.storage {
        return Err(loc.err(
            Some(st.span()),
            "[storage] is gone: give each [[share]] its own `path = \"/dir\"` (a directory) or `memory = true`",
        ));
    }

    let mut config = Config::default();
    let guest = s.guest.unwrap_or(true);
    config.smb.guest = guest;
    config.smb.require_signing = s.require_signing.unwrap_or(false);
    config.smb.require_encryption = s.require_encryption.unwrap_or(false);
    config.smb.guest_uid = s.guest_uid.unwrap_or(config.smb.guest_uid);
    config.smb.guest_gid = s.guest_gid.unwrap_or(config.smb.guest_gid);
    if let Some(n) = &s.name {
        config.smb.server_name = n.clone();
    }
    if let Some(d) = &s.domain {
        config.smb.domain = d.clone();
    }
    if let Some(t) = &s.break_timeout {
        config.break_timeout = secs(&loc, "break_timeout", t)?;
    }
    if let Some(t) = &s.nfs_idle_timeout {
        config.limits.nfs_idle_timeout = Some(secs(&loc, "nfs_idle_timeout", t)?).filter(|d| !d.is_zero());
    }
    let l = &file.limits;
    let limits = &mut config.limits;
    limits.max_smb_connections = l.max_smb_connections.unwrap_or(limits.max_smb_connections);
    limits.max_nfs_connections = l.max_nfs_connections.unwrap_or(limits.max_nfs_connections);
    limits.max_connections = limits.max_smb_connections.saturating_add(limits.max_nfs_connections);
    limits.max_opens_per_session = l.max_opens_per_session.unwrap_or(limits.max_opens_per_session);
    limits.max_parked = l.max_parked.unwrap_or(limits.max_parked);
    limits.max_outstanding_per_conn = l.max_outstanding_per_conn.unwrap_or(limits.max_outstanding_per_conn);
    // Zero would stop every READ and WRITE for good.
    limits.max_io_in_flight = l.max_io_in_flight.unwrap_or(limits.max_io_in_flight).max(1);
    options.io_workers = l.io_workers.unwrap_or(options.io_workers).max(1);

    if file.share.is_empty() {
        return Err(loc.err(None, "no [[share]]: nothing to serve"));
    }
    config.smb.shares.clear();
    config.nfs.exports.clear();
    let (mut names, mut exports) = (BTreeSet::new(), BTreeSet::new());
    let mut storage = Vec::new();
    for share in &file.share {
        let sh = share.get_ref();
        let name = sh.name.get_ref();
        let bad_name = name.is_empty() || name.contains(['/', '\\', '\0']) || name.eq_ignore_ascii_case("IPC$");
        if bad_name {
            return Err(loc.err(Some(sh.name.span()), format!("bad share name {name:?}")));
        }
        // Share names match case-insensitively (MS-SMB2 3.3.5.7).
        if !names.insert(name.to_uppercase()) {
            return Err(loc.err(Some(sh.name.span()), format!("duplicate share {name:?}")));
        }
        let memory = sh.memory.as_ref().is_some_and(|m| *m.get_ref());
        storage.push(match (&sh.path, memory) {
            (Some(p), true) => {
                return Err(loc.err(Some(p.span()), "a share has a `path` or `memory = true`, not both"));
            }
            (Some(p), false) => {
                let dir = p.get_ref();
                if !dir.is_absolute() || !dir.is_dir() {
                    return Err(loc.err(Some(p.span()), format!("path {:?} is not a directory", dir.display())));
                }
                Storage::Dir(dir.clone())
            }
            (None, true) => Storage::Memory,
            (None, false) => {
                return Err(loc.err(Some(sh.name.span()), format!("share {name:?}: no `path` (or `memory = true`)")));
            }
        });
        // The path in the core's composite tree comes when the storage is
        // mounted (crate::storage::MountTable::place).
        let path = String::from("/");
        let export = match &sh.export {
            Some(e) if !e.get_ref().starts_with('/') => {
                return Err(loc.err(Some(e.span()), format!("export {:?} must start with /", e.get_ref())));
            }
            Some(e) => e.get_ref().clone(),
            None => format!("/{name}"),
        };
        if !exports.insert(export.clone()) {
            let span = sh.export.as_ref().map_or(sh.name.span(), Spanned::span);
            return Err(loc.err(Some(span), format!("duplicate export {export:?}")));
        }
        let mut allowed = Vec::new();
        for c in &sh.nfs_clients {
            allowed.push(
                parse_range(c.get_ref())
                    .ok_or_else(|| loc.err(Some(c.span()), format!("bad client address {:?}", c.get_ref())))?,
            );
        }
        let mode = |m: &Option<Spanned<String>>, default: u32| match m {
            None => Ok(default),
            Some(m) => u32::from_str_radix(m.get_ref(), 8)
                .ok()
                .filter(|v| *v <= 0o7777)
                .ok_or_else(|| loc.err(Some(m.span()), format!("{:?} is not an octal mode", m.get_ref()))),
        };
        config.smb.shares.push(Share {
            read_only: sh.read_only,
            guest_ok: sh.guest_ok.unwrap_or(guest),
            guest_read_only: sh.guest_read_only,
            create_mask: mode(&sh.create_mask, 0o664)?,
            directory_mask: mode(&sh.directory_mask, 0o775)?,
            encrypt: sh.require_encryption,
            ..Share::new(name.clone(), path.clone())
        });
        config.nfs.exports.push(Export {
            name: export,
            path,
            read_only: sh.read_only,
            allowed,
            secure: sh.secure,
            squash: match sh.squash {
                SquashName::Root => Squash::Root,
                SquashName::All => Squash::All,
                SquashName::None => Squash::None,
            },
            anon_uid: sh.anon_uid.unwrap_or(65534),
            anon_gid: sh.anon_gid.unwrap_or(65534),
            policy: match sh.nfs_policy {
                PolicyName::Wait => NfsBreakPolicy::Wait,
                PolicyName::Jukebox => NfsBreakPolicy::Jukebox,
            },
            break_timeout: sh.break_timeout.as_ref().map(|t| secs(&loc, "break_timeout", t)).transpose()?,
        });
    }
    if config.nfs.exports.len() > 256 {
        return Err(loc.err(None, "more than 256 shares: NFS handles hold the export index in one byte"));
    }

    Ok(Deployment {
        options,
        config,
        root: None,
        storage,
        users_file: s.users.as_ref().map(|u| u.get_ref().clone()),
        log: file.log.level.clone(),
        seed: s.seed.map(Seed::Fixed),
        control_socket: s.control_socket.clone(),
        metrics: file.metrics.listen,
    })
}

/// `ADDR` or `ADDR/PREFIX` (CIDR).
fn parse_range(s: &str) -> Option<AddrRange> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
        None => (s.parse().ok()?, None),
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(max);
    (prefix <= max).then_some(AddrRange { addr, prefix })
}

impl Deployment {
    /// The effective configuration as TOML, for `polyshare check-config`:
    /// every setting the file can make, defaults filled in. Users are
    /// listed by name only.
    pub fn describe(&self) -> String {
        let mut o = String::new();
        let c = &self.config;
        let q = |s: &str| format!("{s:?}");
        let _ = writeln!(o, "[server]");
        for (key, first, protocol) in
            [("smb", self.options.smb, Protocol::Smb), ("nfs", self.options.nfs, Protocol::Nfs)]
        {
            let also = self.options.also.iter().filter(|(_, p)| *p == protocol).map(|(a, _)| *a);
            let all: Vec<String> = first.into_iter().chain(also).map(|a| q(&a.to_string())).collect();
            let _ = writeln!(o, "{key}_listen = [{}]", all.join(", "));
        }
        if let Some(p) = self.options.portmap {
            let _ = writeln!(o, "listen = \"{}\"\nportmap_port = {}", p.ip(), p.port());
        }
        let _ = writeln!(o, "name = {}", q(&c.smb.server_name));
        let _ = writeln!(o, "domain = {}", q(&c.smb.domain));
        let _ = writeln!(o, "guest = {}", c.smb.guest);
        let _ = writeln!(o, "guest_uid = {}\nguest_gid = {}", c.smb.guest_uid, c.smb.guest_gid);
        let _ = writeln!(o, "require_signing = {}", c.smb.require_signing);
        let _ = writeln!(o, "require_encryption = {}", c.smb.require_encryption);
        if let Some(u) = &self.users_file {
            let _ = writeln!(o, "users = {}", q(&u.display().to_string()));
        }
        let _ = writeln!(o, "break_timeout = {}", c.break_timeout.as_secs_f64());
        let _ = writeln!(o, "nfs_idle_timeout = {}", c.limits.nfs_idle_timeout.map_or(0.0, |d| d.as_secs_f64()));
        if let Some(c) = &self.control_socket {
            let _ = writeln!(o, "control_socket = {}", q(&c.display().to_string()));
        }
        if let Some(r) = &self.options.record {
            let _ = writeln!(o, "record = {}", q(&r.display().to_string()));
        }
        let l = &c.limits;
        let _ = writeln!(o, "\n[limits]");
        let _ = writeln!(o, "max_smb_connections = {}", l.max_smb_connections);
        let _ = writeln!(o, "max_nfs_connections = {}", l.max_nfs_connections);
        let _ = writeln!(o, "max_opens_per_session = {}", l.max_opens_per_session);
        let _ = writeln!(o, "max_parked = {}", l.max_parked);
        let _ = writeln!(o, "max_outstanding_per_conn = {}", l.max_outstanding_per_conn);
        let _ = writeln!(o, "io_workers = {}", self.options.io_workers);
        let _ = writeln!(o, "max_io_in_flight = {}", l.max_io_in_flight);
        let _ = writeln!(o, "\n[log]\nlevel = {}", q(self.log.as_deref().unwrap_or("info")));
        if let Some(m) = self.metrics {
            let _ = writeln!(o, "\n[metrics]\nlisten = \"{m}\"");
        }
        for (i, (share, export)) in c.smb.shares.iter().zip(&c.nfs.exports).enumerate() {
            let _ = writeln!(o, "\n[[share]]");
            let _ = writeln!(o, "name = {}", q(&share.name));
            match self.storage.get(i) {
                Some(Storage::Dir(d)) => writeln!(o, "path = {}", q(&d.display().to_string())),
                Some(Storage::Memory) => writeln!(o, "memory = true"),
                None => match &self.root {
                    Some(r) => writeln!(o, "path = {}", q(&r.display().to_string())),
                    None => writeln!(o, "memory = true"),
                },
            }
            .ok();
            let _ = writeln!(o, "export = {}", q(&export.name));
            let _ = writeln!(o, "read_only = {}", share.read_only);
            let _ = writeln!(o, "guest_ok = {}", share.guest_ok);
            let _ = writeln!(o, "guest_read_only = {}", share.guest_read_only);
            let _ = writeln!(o, "require_encryption = {}", share.encrypt);
            let _ = writeln!(
                o,
                "create_mask = \"{:o}\"\ndirectory_mask = \"{:o}\"",
                share.create_mask, share.directory_mask
            );
            let clients: Vec<String> = export.allowed.iter().map(|r| q(&format!("{}/{}", r.addr, r.prefix))).collect();
            let _ = writeln!(o, "nfs_clients = [{}]", clients.join(", "));
            let squash = match export.squash {
                Squash::Root => "root",
                Squash::All => "all",
                Squash::None => "none",
            };
            let _ = writeln!(o, "squash = \"{squash}\"");
            let _ = writeln!(o, "anon_uid = {}\nanon_gid = {}", export.anon_uid, export.anon_gid);
            let _ = writeln!(o, "secure = {}", export.secure);
            let policy = match export.policy {
                NfsBreakPolicy::Wait => "wait",
                NfsBreakPolicy::Jukebox => "jukebox",
            };
            let _ = writeln!(o, "nfs_policy = \"{policy}\"");
            if let Some(t) = export.break_timeout {
                let _ = writeln!(o, "break_timeout = {}", t.as_secs_f64());
            }
        }
        if !c.smb.users.is_empty() {
            let names: Vec<String> = c.smb.users.iter().map(|u| q(&u.name)).collect();
            let _ = writeln!(o, "\n# users: {}", names.join(", "));
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ConfigError {
        parse(Path::new("t.toml"), text).expect_err("a bad configuration")
    }

    #[test]
    fn require_encryption_maps_globally_and_per_share() {
        let text = "[server]\nrequire_encryption = true\n[[share]]\nname = \"a\"\nmemory = true\n[[share]]\nname = \"b\"\nmemory = true\nexport = \"/b\"\nrequire_encryption = true\n";
        let d = parse(Path::new("t.toml"), text).expect("a good configuration");
        assert!(d.config.smb.require_encryption);
        let enc: Vec<bool> = d.config.smb.shares.iter().map(|s| s.encrypt).collect();
        assert_eq!(enc, [false, true]);
        let d = parse(Path::new("t.toml"), "[[share]]\nname = \"a\"\nmemory = true\n").unwrap();
        assert!(!d.config.smb.require_encryption && !d.config.smb.shares[0].encrypt);
    }

    #[test]
    fn errors_name_their_line() {
        let e = err("[server]\nlisten = \"127.0.0.1\"\nbogus = 1\n[[share]]\nname = \"a\"\nmemory = true\n");
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("bogus"), "{e}");
        let e = err("[server]\nlisten = \"300.1.1.1\"\n[[share]]\nname = \"a\"\nmemory = true\n");
        assert_eq!(e.line, 2, "{e}");
        let e = err("[[share]]\nname = \"a\"\nmemory = true\n\n[[share]]\nname = \"A\"\nmemory = true\n");
        assert_eq!((e.line, e.message.as_str()), (6, "duplicate share \"A\""));
        let e = err("[[share]]\nname = \"a\"\nmemory = true\nbreak_timeout = -5\n");
        assert_eq!(e.line, 4, "{e}");
        let e = err("[storage]\nroot = \"/nonexistent/polyshare\"\n[[share]]\nname = \"a\"\nmemory = true\n");
        assert!(e.line <= 2 && e.message.starts_with("[storage] is gone"), "{e}");
        let e = err("[[share]]\nname = \"a\"\npath = \"/nonexistent/polyshare\"\n");
        assert_eq!((e.line, e.message.as_str()), (3, "path \"/nonexistent/polyshare\" is not a directory"));
        let e = err("[[share]]\nname = \"a\"\n");
        assert_eq!((e.line, e.message.as_str()), (2, "share \"a\": no `path` (or `memory = true`)"));
        let e =
            err("[server]\nsmb_listen = [\"127.0.0.1:445\", \"[::1]:x\"]\n[[share]]\nname = \"a\"\nmemory = true\n");
        assert_eq!(e.line, 2, "{e}");
        let e =
            err("[server]\nsmb_listen = [\"127.0.0.1:445\"]\nsmb_port = 1\n[[share]]\nname = \"a\"\nmemory = true\n");
        assert_eq!(e.line, 3, "{e}");
        let e = err("[[share]]\nname = \"a\"\nmemory = true\nnfs_clients = [\"10.0.0.0/8\", \"10.0.0.0/99\"]\n");
        assert_eq!(e.line, 4, "{e}");
        assert_eq!(e.to_string(), "t.toml: line 4: bad client address \"10.0.0.0/99\"");
    }

    #[test]
    fn storage_workers_and_requests_in_flight_are_settings() {
        let text = "[limits]\nio_workers = 8\nmax_io_in_flight = 16\n[[share]]\nname = \"a\"\nmemory = true\n";
        let d = parse(Path::new("t.toml"), text).unwrap();
        assert_eq!((d.options.io_workers, d.config.limits.max_io_in_flight), (8, 16));
        let again = parse(Path::new("t2.toml"), &d.describe()).unwrap();
        assert_eq!((again.options.io_workers, again.config.limits.max_io_in_flight), (8, 16));
        // Zero of either would stop all storage IO: one is the least.
        let text = "[limits]\nio_workers = 0\nmax_io_in_flight = 0\n[[share]]\nname = \"a\"\nmemory = true\n";
        let d = parse(Path::new("t.toml"), text).unwrap();
        assert_eq!((d.options.io_workers, d.config.limits.max_io_in_flight), (1, 1));
    }

    #[test]
    fn listen_lists_per_protocol() {
        let d = parse(
            Path::new("t.toml"),
            "[server]\nsmb_listen = [\"127.0.0.1:445\", \"[::1]:4445\"]\nnfs_port = 2050\n[[share]]\nname = \"a\"\npath = \"/\"\n",
        )
        .unwrap();
        assert_eq!(d.options.smb, Some("127.0.0.1:445".parse().unwrap()));
        assert_eq!(d.options.also, [("[::1]:4445".parse().unwrap(), Protocol::Smb)]);
        assert_eq!(d.options.nfs, Some("127.0.0.1:2050".parse().unwrap()));
        assert_eq!(d.storage, [Storage::Dir("/".into())]);
        let again = parse(Path::new("t2.toml"), &d.describe()).unwrap();
        assert_eq!((again.options.smb, &again.options.also), (d.options.smb, &d.options.also));
        assert_eq!(again.describe(), d.describe());
    }

    #[test]
    fn a_share_maps_to_a_share_and_an_export() {
        let d = parse(
            Path::new("t.toml"),
            "[server]\nsmb_port = 0\nguest = false\n[[share]]\nname = \"ro\"\nmemory = true\nread_only = true\nnfs_clients = \
             [\"127.0.0.1\"]\nsquash = \"all\"\nnfs_policy = \"jukebox\"\nbreak_timeout = 2.5\n",
        )
        .unwrap();
        assert_eq!(d.options.smb.unwrap().port(), 0);
        assert_eq!(d.options.nfs.unwrap().port(), NFS_PORT);
        let (s, e) = (&d.config.smb.shares[0], &d.config.nfs.exports[0]);
        assert!(s.read_only && !s.guest_ok && e.read_only);
        assert_eq!((e.name.as_str(), e.squash, e.policy), ("/ro", Squash::All, NfsBreakPolicy::Jukebox));
        assert_eq!(e.break_timeout, Some(Duration::from_millis(2500)));
        assert_eq!(e.allowed, vec![AddrRange { addr: "127.0.0.1".parse().unwrap(), prefix: 32 }]);
        // What check-config prints reads back into the same configuration.
        let again = parse(Path::new("t2.toml"), &d.describe()).unwrap();
        assert_eq!(again.describe(), d.describe());
    }
}
