//! An SMB connection's sessions, trees and opens, for [`crate::snapshot`].

use super::SmbShared;
use super::auth::Identity;
use super::cipher::Cipher;
use super::conn::SmbConnection;
use crate::common::Core;
use crate::lease::OplockLevel;
use crate::snapshot::{ChannelView, OpenView, SessionView, TreeView, caching_letters};
use crate::vfs::{ObjectId, Vfs};

/// Directories walked up from an open to its tree's root at most.
const MAX_DEPTH: usize = 256;

/// The path of `object` below `root` as a client names it, from the name
/// the open was made under and the directories above it.
fn path_of(core: &Core, smb: &SmbShared, root: ObjectId, object: ObjectId) -> String {
    if object == root {
        return String::new();
    }
    let Some(f) = smb.files.get(&object) else { return "?".into() };
    if f.is_stream {
        return format!("{}:{}", path_of(core, smb, root, f.parent), f.name);
    }
    let mut parts = vec![f.name.clone()];
    let mut dir = f.parent;
    while dir != root {
        let name = core.vfs.parent(dir).and_then(|up| core.vfs.name_in(up, dir).map(|n| (up, n)));
        match name {
            Ok((up, n)) if parts.len() < MAX_DEPTH && up != dir => {
                parts.push(n);
                dir = up;
            }
            _ => return "?".into(),
        }
    }
    parts.reverse();
    parts.join("\\")
}

fn cipher_name(c: Cipher) -> &'static str {
    match c {
        Cipher::Aes128Ccm => "AES-128-CCM",
        Cipher::Aes128Gcm => "AES-128-GCM",
        Cipher::Aes256Ccm => "AES-256-CCM",
        Cipher::Aes256Gcm => "AES-256-GCM",
    }
}

/// The sessions whose Session.Connection is `conn`, each with its channels.
pub fn sessions(core: &Core, smb: &SmbShared, conn: &SmbConnection) -> Vec<SessionView> {
    let d = conn.dialect;
    let dialect = match d {
        0 => String::new(),
        0x0202 => "2.0.2".into(),
        0x0210 => "2.1".into(),
        _ => format!("{}.{}.{}", d >> 8, (d >> 4) & 0xf, d & 0xf),
    };
    smb.sessions
        .values()
        .filter(|s| s.conn == conn.id)
        .map(|s| SessionView {
            conn: conn.id.0,
            client: conn.peer,
            session_id: s.id,
            user: match &s.identity {
                Some(Identity::User(name)) => name.clone(),
                Some(Identity::Guest) => "guest".into(),
                Some(Identity::Anonymous) => "anonymous".into(),
                None => String::new(),
            },
            dialect: dialect.clone(),
            signing: s.signing_key.is_some(),
            channels: s
                .channels
                .iter()
                .map(|(id, c)| ChannelView { conn: id.0, client: c.peer, bound: c.binding.is_none() })
                .collect(),
            signing_required: s.signing_required,
            encryption: s.encrypt_data || s.trees.values().any(|t| t.encrypt_data),
            cipher: s.cipher_id.map(|c| cipher_name(c).to_owned()),
            trees: s
                .trees
                .values()
                .map(|t| TreeView {
                    tree_id: t.id,
                    share: match t.share {
                        None => "IPC$".into(),
                        Some(i) => core.config.smb.shares.get(i).map(|s| s.name.clone()).unwrap_or_default(),
                    },
                })
                .collect(),
            opens: s
                .opens
                .values()
                .map(|o| {
                    let tree = s.trees.get(&o.tree_id);
                    let share = tree.and_then(|t| t.share).and_then(|i| core.config.smb.shares.get(i));
                    let lease = core.leases.lease_of(o.lease_open).and_then(|l| core.leases.lease_info(l.client_guid, l.key));
                    OpenView {
                        file_id: o.file_id.persistent,
                        tree_id: o.tree_id,
                        object: o.object,
                        share: share.map(|s| s.name.clone()).unwrap_or_default(),
                        path: tree.map_or_else(|| "?".into(), |t| path_of(core, smb, t.root, o.object)),
                        access: o.access,
                        lease: lease.as_ref().map(|l| caching_letters(l.state.bits())),
                        oplock: match core.leases.oplock_level(o.lease_open) {
                            OplockLevel::None => "none",
                            OplockLevel::II => "II",
                            OplockLevel::Exclusive => "exclusive",
                            OplockLevel::Batch => "batch",
                        }
                        .into(),
                        breaking: lease.as_ref().is_some_and(|l| l.breaking) || core.leases.oplock_breaking(o.lease_open),
                    }
                })
                .collect(),
        })
        .collect()
}
