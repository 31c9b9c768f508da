//! An SMB connection's sessions, trees and opens, for [`crate::snapshot`].

use super::auth::Identity;
use super::SmbShared;
use super::conn::SmbConnection;
use crate::common::Core;
use crate::lease::OplockLevel;
use crate::snapshot::{ChannelView, OpenView, SessionView, TreeView, caching_letters};

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
            encryption: false,
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
                    let lease = core.leases.lease_of(o.lease_open).and_then(|l| core.leases.lease_info(l.client_guid, l.key));
                    OpenView {
                        file_id: o.file_id.persistent,
                        tree_id: o.tree_id,
                        object: o.object,
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
