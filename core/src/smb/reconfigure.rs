//! A reload of the shares and accounts, as seen by the SMB sessions
//! ([`Server::handle_reconfigure`](crate::Server::handle_reconfigure)): the
//! trees of a share that is gone (or changed) are disconnected as by TREE_DISCONNECT
//! (MS-SMB2 3.3.5.8: their opens closed), so that their next request answers
//! STATUS_NETWORK_NAME_DELETED, as Windows answers for a share deleted
//! under a connected client; trees of an unchanged share go on, with its new
//! index; the sessions of an account that is gone end as by LOGOFF
//! (MS-SMB2 3.3.5.6).

use std::time::Instant;

use super::SmbShared;
use super::auth::Identity;
use super::logoff::log_off;
use super::handlers::tree::detach;
use super::release::release_open;
use crate::common::Core;
use crate::config::User;

/// Applies a reload to every session. `share_map[i]` is the new index of old share
/// `i`, `None` when it is gone or changed; `users` are the accounts from now
/// on.
pub fn apply(
    core: &mut Core,
    smb: &mut SmbShared,
    share_map: &[Option<usize>],
    users: &[User],
    now: Instant,
) {
    let gone: Vec<u64> = smb
        .sessions
        .iter()
        .filter(|(_, s)| match &s.identity {
            Some(Identity::User(name)) => !users.iter().any(|u| u.name.eq_ignore_ascii_case(name)),
            _ => false,
        })
        .map(|(id, _)| *id)
        .collect();
    for sid in gone {
        tracing::info!(session = sid, "account removed: session ends");
        log_off(core, smb, sid, now);
    }
    let mut closing = Vec::new();
    for session in smb.sessions.values_mut() {
        let mut removed = Vec::new();
        for (tid, tree) in session.trees.iter_mut() {
            if let Some(old) = tree.share {
                match share_map.get(old).copied().flatten() {
                    Some(new) => tree.share = Some(new),
                    None => removed.push(*tid),
                }
            }
        }
        for tid in removed {
            closing.extend(detach(session, tid));
            tracing::info!(session = session.id, tree = tid, "share removed: tree disconnected");
        }
    }
    for open in closing {
        release_open(core, smb, open, now);
    }
}
