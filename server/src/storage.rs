//! Where each share's files live: an in-memory tree of its own, or a
//! directory on disk, each mounted in the core's composite
//! [`Mounts`](polyshare_core::vfs::Mounts) and reached by the share and its
//! export as `/MOUNT[/SUBDIR]`.
//!
//! Shares on the same directory, or on directories one inside the other,
//! share one mount (the outermost directory), so that a file has one id and
//! one lease state whichever share it is reached through. A reload keeps
//! the mount of every storage still named (its opens, leases and NFS
//! handles go on), mounts what is new and unmounts what is no longer used.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use polyshare_core::vfs::Mounts;
use polyshare_core::{Config, LocalFs, MemoryFs, Vfs};

/// The storage of one share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// An in-memory tree of the share's own, empty at start, lost at exit.
    Memory,
    /// A directory on disk.
    Dir(PathBuf),
}

/// What a mount holds, and so when a share can reuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    /// The in-memory tree of the share of this (upper-cased) name.
    Memory(String),
    /// A directory, canonical.
    Dir(PathBuf),
}

/// The mount table of a running server, on the embedder's side.
#[derive(Debug, Default)]
pub struct MountTable {
    mounts: Mounts,
    by_key: Vec<(Key, String)>,
    next: u32,
}

impl MountTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The composite storage to give the core (it shares this table).
    pub fn vfs(&self) -> Box<dyn Vfs> {
        Box::new(self.mounts.clone())
    }

    /// Gives every share of `config` (and the export at the same index) the
    /// path of its storage in the table, mounting storage not mounted yet.
    /// `storage[i]` is the storage of `config.smb.shares[i]`. Answers the
    /// mounts no share uses any more, for [`MountTable::unmount`] once the
    /// core has the new configuration.
    pub fn place(&mut self, config: &mut Config, storage: &[Storage]) -> io::Result<Vec<String>> {
        let mut keys = Vec::with_capacity(storage.len());
        for (share, s) in config.smb.shares.iter().zip(storage) {
            keys.push(match s {
                Storage::Memory => Key::Memory(share.name.to_uppercase()),
                Storage::Dir(d) => {
                    Key::Dir(d.canonicalize().map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", d.display())))?)
                }
            });
        }
        // Outer directories first, so that an inner one finds its mount.
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by_key(|&i| match &keys[i] {
            Key::Dir(d) => d.components().count(),
            Key::Memory(_) => 0,
        });
        let mut paths = vec![String::new(); keys.len()];
        for i in order {
            paths[i] = self.path_of(&keys[i])?;
        }
        for (i, path) in paths.into_iter().enumerate() {
            config.smb.shares[i].path.clone_from(&path);
            if let Some(e) = config.nfs.exports.get_mut(i) {
                e.path = path;
            }
        }
        let used = |name: &str| {
            config.smb.shares.iter().any(|s| s.path == format!("/{name}") || s.path.starts_with(&format!("/{name}/")))
        };
        Ok(self.by_key.iter().filter(|(_, n)| !used(n)).map(|(_, n)| n.clone()).collect())
    }

    /// Removes the mounts `names` (their ids go stale).
    pub fn unmount(&mut self, names: &[String]) {
        for name in names {
            let _ = self.mounts.unmount(name);
        }
        self.by_key.retain(|(_, n)| !names.contains(n));
    }

    /// The path in the table of `key`'s storage, mounting it if needed.
    fn path_of(&mut self, key: &Key) -> io::Result<String> {
        if let Some((_, name)) = self.by_key.iter().find(|(k, _)| k == key) {
            return Ok(format!("/{name}"));
        }
        if let Key::Dir(dir) = key {
            for (k, name) in &self.by_key {
                let Key::Dir(outer) = k else { continue };
                if let Ok(rel) = dir.strip_prefix(outer) {
                    return Ok(format!("/{name}/{}", rel.display()));
                }
                if outer.starts_with(dir) {
                    return Err(io::Error::other(format!(
                        "{} holds {}, served already: a restart is needed to serve it",
                        dir.display(),
                        outer.display()
                    )));
                }
            }
        }
        let vfs: Arc<dyn Vfs> = match key {
            Key::Memory(_) => Arc::new(MemoryFs::new()),
            Key::Dir(d) => Arc::new(LocalFs::new(d).map_err(|e| io::Error::other(format!("{}: {e}", d.display())))?),
        };
        let name = format!("m{}", self.next);
        self.next += 1;
        let path = self.mounts.mount(&name, vfs).map_err(|e| io::Error::other(format!("mount {name}: {e}")))?;
        self.by_key.push((key.clone(), name));
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polyshare_core::config::{Export, Share};

    fn config(names: &[&str]) -> Config {
        let mut c = Config::default();
        c.smb.shares = names.iter().map(|n| Share::new(*n, "/")).collect();
        c.nfs.exports = names.iter().map(|n| Export { name: format!("/{n}"), ..Export::default() }).collect();
        c
    }

    #[test]
    fn shares_get_mounts_and_a_reload_keeps_the_unchanged_ones() {
        let base = std::env::temp_dir().join(format!("polyshare-storage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("a/inner")).unwrap();
        std::fs::create_dir_all(base.join("b")).unwrap();
        let mut t = MountTable::new();
        let vfs = t.vfs();
        let mut c = config(&["mem", "a", "inner", "mem2"]);
        let st = [Storage::Memory, Storage::Dir(base.join("a")), Storage::Dir(base.join("a/inner")), Storage::Memory];
        assert!(t.place(&mut c, &st).unwrap().is_empty());
        let paths: Vec<&str> = c.smb.shares.iter().map(|s| s.path.as_str()).collect();
        // The inner directory shares its outer directory's mount.
        assert_eq!(paths, ["/m0", "/m2", "/m2/inner", "/m1"]);
        assert_eq!(c.nfs.exports[2].path, "/m2/inner");
        let mem_root = vfs.lookup(vfs.root(), "m0").unwrap().id;

        // Reload: "mem" stays, "a" and "inner" go, "b" comes.
        let mut c = config(&["b", "mem"]);
        let gone = t.place(&mut c, &[Storage::Dir(base.join("b")), Storage::Memory]).unwrap();
        assert_eq!(gone, ["m1", "m2"]);
        t.unmount(&gone);
        let paths: Vec<&str> = c.smb.shares.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(paths, ["/m3", "/m0"]);
        assert_eq!(vfs.lookup(vfs.root(), "m0").unwrap().id, mem_root, "the unchanged share keeps its mount");
        let (listed, _) = vfs.readdir(vfs.root(), 0, 10).unwrap();
        assert_eq!(listed.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["m0", "m3"]);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
