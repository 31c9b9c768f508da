//! A reload of the shares and accounts, as seen by the SMB sessions
//! ([`Server::handle_reconfigure`](crate::Server::handle_reconfigure)): the
//! trees of a share that is gone (or moved to another path) are disconnected
//! as by TREE_DISCONNECT (MS-SMB2 3.3.5.8: their opens closed), so that their
//! next request answers STATUS_NETWORK_NAME_DELETED, as Windows answers for
//! a share deleted under a connected client; trees of a share that stays go
//! on, with its new index and its new options (read-only, guest read-only,
//! encryption) from their next request, unless the share now refuses the
//! session (a guest where guests are no longer allowed, a session that
//! cannot encrypt where encryption is now required): those are disconnected
//! too; the sessions of an account that is gone end as by LOGOFF
//! (MS-SMB2 3.3.5.6).

use std::time::Instant;

use super::SmbShared;
use super::auth::Identity;
use super::logoff::log_off;
use super::conn::Tree;
use super::handlers::tree::{detach, share_rights};
use super::release::release_open;
use crate::common::Core;
use crate::config::{Share, User};

/// Applies a reload to every session. `share_map[i]` is the index in
/// `shares` of old share `i`, `None` when it is gone or moved; `users` are
/// the accounts from now on.
pub fn apply(
    core: &mut Core,
    smb: &mut SmbShared,
    share_map: &[Option<usize>],
    shares: &[Share],
    users: &[User],
    now: Instant,
) {
    let require_encryption = core.config.smb.require_encryption;
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
        let guest = session.is_guest_or_anonymous();
        // The session was set up on a connection with a cipher.
        let can_encrypt = session.cipher_id.is_some();
        for (tid, tree) in session.trees.iter_mut() {
            let Some(old) = tree.share else { continue };
            let Some((new, share)) = share_map.get(old).copied().flatten().and_then(|n| Some((n, shares.get(n)?))) else {
                removed.push(*tid);
                continue;
            };
            // As TREE_CONNECT would decide now (MS-SMB2 3.3.5.7).
            let encrypt_data = share.encrypt || require_encryption;
            if (guest && !share.guest_ok) || (encrypt_data && (!can_encrypt || guest)) {
                removed.push(*tid);
                continue;
            }
            let (read_only, maximal_access) = share_rights(share, guest);
            *tree = Tree { share: Some(new), read_only, maximal_access, encrypt_data, ..*tree };
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
