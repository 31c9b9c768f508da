//! The user database (`polyshare user ...`, like `smbpasswd`): one line per
//! account, `NAME:UID:GID:GROUPS:NTHASH`, where NTHASH is the hex of MD4 of
//! the UTF-16LE password (MS-NLMP 3.3.1 NTOWFv1), all NTLMv2 needs. The
//! password itself is never stored. The hash is password-equivalent for NTLM,
//! so the file is created owner-only and a group- or world-accessible one is
//! refused.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use polyshare_core::config::{NtHash, User};

/// Permission bits a database must not have: group write, anything for
/// others.
const FORBIDDEN_MODE: u32 = 0o027;

/// A user database error.
#[derive(Debug)]
pub enum UserDbError {
    /// Reading or writing the file failed.
    Io(PathBuf, io::Error),
    /// The file is readable or writable by others.
    Permissions(PathBuf, u32),
    /// A line does not parse.
    Line(PathBuf, usize, String),
    /// `add` of a name that exists, `passwd`/`del` of one that does not.
    User(String),
}

impl std::fmt::Display for UserDbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(p, e) => write!(f, "{}: {e}", p.display()),
            Self::Permissions(p, mode) => write!(
                f,
                "{}: mode {mode:o} lets others read or change it (it holds password hashes); chmod 600 it",
                p.display()
            ),
            Self::Line(p, n, m) => write!(f, "{}: line {n}: {m}", p.display()),
            Self::User(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for UserDbError {}

/// The accounts of a database file, in file order.
#[derive(Debug, Clone, Default)]
pub struct UserDb {
    /// The accounts.
    pub users: Vec<User>,
}

impl UserDb {
    /// Reads `path`; a missing file is an empty database when `missing_ok`.
    pub fn load(path: &Path, missing_ok: bool) -> Result<Self, UserDbError> {
        let io_err = |e| UserDbError::Io(path.to_path_buf(), e);
        let meta = match std::fs::metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && missing_ok => return Ok(Self::default()),
            other => other.map_err(io_err)?,
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & FORBIDDEN_MODE != 0 {
            return Err(UserDbError::Permissions(path.to_path_buf(), mode));
        }
        let text = std::fs::read_to_string(path).map_err(io_err)?;
        let mut users = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |m: &str| UserDbError::Line(path.to_path_buf(), i + 1, m.into());
            users.push(parse_line(line).map_err(bad)?);
        }
        Ok(Self { users })
    }

    /// Writes the database to `path` (through a temporary file, renamed, so
    /// a reader never sees half of it), owner-only.
    pub fn save(&self, path: &Path) -> Result<(), UserDbError> {
        let io_err = |e| UserDbError::Io(path.to_path_buf(), e);
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".new");
        let tmp = PathBuf::from(tmp);
        let mut f =
            OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io_err)?;
        // An existing temporary file keeps its mode through `open`.
        f.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(io_err)?;
        let mut text = String::from("# polyshare users: NAME:UID:GID:GROUPS:NT-HASH (MD4 of the UTF-16LE password)\n");
        for u in &self.users {
            let groups: Vec<String> = u.groups.iter().map(u32::to_string).collect();
            let hash: String = u.nt_hash.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
            text.push_str(&format!("{}:{}:{}:{}:{hash}\n", u.name, u.uid, u.gid, groups.join(",")));
        }
        f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).map_err(io_err)?;
        std::fs::rename(&tmp, path).map_err(io_err)
    }

    fn find(&self, name: &str) -> Option<usize> {
        // NTLM user names compare case-insensitively.
        self.users.iter().position(|u| u.name.eq_ignore_ascii_case(name))
    }

    /// Adds an account; an existing name is an error.
    pub fn add(&mut self, user: User) -> Result<(), UserDbError> {
        check_name(&user.name)?;
        if self.find(&user.name).is_some() {
            return Err(UserDbError::User(format!("user {:?} exists (use `user passwd`)", user.name)));
        }
        self.users.push(user);
        Ok(())
    }

    /// Sets the hash of an existing account.
    pub fn passwd(&mut self, name: &str, hash: NtHash) -> Result<(), UserDbError> {
        let i = self.find(name).ok_or_else(|| UserDbError::User(format!("no user {name:?}")))?;
        self.users[i].nt_hash = hash;
        Ok(())
    }

    /// Removes an account.
    pub fn remove(&mut self, name: &str) -> Result<User, UserDbError> {
        let i = self.find(name).ok_or_else(|| UserDbError::User(format!("no user {name:?}")))?;
        Ok(self.users.remove(i))
    }
}

fn check_name(name: &str) -> Result<(), UserDbError> {
    // ':' separates the fields; NTLM names have no control characters.
    if name.is_empty() || name.len() > 256 || name.contains(|c: char| c == ':' || c.is_control()) {
        return Err(UserDbError::User(format!("bad user name {name:?}")));
    }
    Ok(())
}

fn parse_line(line: &str) -> Result<User, &'static str> {
    let f: Vec<&str> = line.split(':').collect();
    let [name, uid, gid, groups, hash] = f[..] else {
        return Err("expected NAME:UID:GID:GROUPS:NT-HASH");
    };
    let id = |s: &str| s.parse::<u32>().map_err(|_| "bad uid, gid or group");
    let groups = groups.split(',').filter(|g| !g.is_empty()).map(id).collect::<Result<Vec<_>, _>>()?;
    if hash.len() != 32 || !hash.is_ascii() {
        return Err("the NT hash is 32 hex digits");
    }
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hash[2 * i..2 * i + 2], 16).map_err(|_| "the NT hash is 32 hex digits")?;
    }
    if name.is_empty() {
        return Err("empty user name");
    }
    Ok(User { name: name.into(), nt_hash: NtHash::from_bytes(bytes), uid: id(uid)?, gid: id(gid)?, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("polyshare-users-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    #[test]
    fn round_trips_owner_only_and_refuses_open_modes() {
        let p = temp("rt");
        let mut db = UserDb::load(&p, true).unwrap();
        db.add(User::new("alice", "pw").with_ids(1000, 100, vec![4, 27])).unwrap();
        assert!(db.add(User::new("ALICE", "x")).is_err(), "names compare case-insensitively");
        db.save(&p).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        let back = UserDb::load(&p, false).unwrap();
        let u = &back.users[0];
        assert_eq!((u.name.as_str(), u.uid, u.gid, &u.groups[..]), ("alice", 1000, 100, &[4, 27][..]));
        assert_eq!(u.nt_hash, NtHash::from_password("pw"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(UserDb::load(&p, false), Err(UserDbError::Permissions(_, 0o644))));
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn a_bad_line_is_named() {
        let p = temp("bad");
        std::fs::write(&p, "# c\nbob:1:2::00\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = UserDb::load(&p, false).unwrap_err().to_string();
        std::fs::remove_file(&p).unwrap();
        assert!(e.ends_with("line 2: the NT hash is 32 hex digits"), "{e}");
    }
}
