//! The context one request is handled in: the shared core, the connection,
//! the effective header (related-compound substitutions applied) and what
//! the handler reports back to the dispatcher.

use std::time::Instant;

use bytes::Bytes;

use super::conn::{IoKind, Open, Session, SmbConnection, Tree};
use super::status;
use super::wire::codec::FileId;
use super::wire::header::Header;
use crate::common::Core;
use crate::smb::SmbShared;
use crate::time::Timespec;

/// Which preauth integrity hash the response bytes extend (3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PreauthTarget {
    #[default]
    None,
    Connection,
    Session(u64),
    /// The PreauthSession of a binding on this connection (3.3.5.5).
    Binding(u64),
}

#[derive(Debug)]
pub enum Outcome {
    Reply {
        status: u32,
        body: Vec<u8>,
    },
    /// The request went async: the handler registered a wait under
    /// [`Ctx::op`]; an interim response goes out now.
    Pending,
    /// The request waits for a storage request ([`Ctx::storage`]); no
    /// interim response: the reply goes out when the completion arrives.
    Io,
    NoReply,
    Disconnect,
}

pub type HandlerResult = Result<Outcome, u32>;

pub fn ok(body: Vec<u8>) -> HandlerResult {
    Ok(Outcome::Reply { status: status::SUCCESS, body })
}

/// A SUCCESS reply whose body `encode` writes.
pub fn ok_with(encode: impl FnOnce(&mut Vec<u8>)) -> HandlerResult {
    let mut body = Vec::new();
    encode(&mut body);
    ok(body)
}

#[derive(Debug)]
pub struct Ctx<'a> {
    pub core: &'a mut Core,
    /// SMB state shared by every SMB connection.
    pub smb: &'a mut SmbShared,
    pub conn: &'a mut SmbConnection,
    pub hdr: Header,
    /// The whole request message (one compound element) from its header on.
    pub msg: Bytes,
    pub now: Instant,
    /// The FileId the previous operation of a related chain used or made.
    pub chain_file: Option<FileId>,
    pub resp_session: Option<u64>,
    pub resp_tree: Option<u32>,
    /// The FileId this operation used or created (for the next related one).
    pub used_file: Option<FileId>,
    /// Sign the response even though the request was not signed (the final
    /// SESSION_SETUP response).
    pub force_sign: bool,
    /// Sign the response with this algorithm and key (LOGOFF: the session
    /// is gone; a binding: Session.SigningKey or the new Channel.SigningKey).
    pub sign_override: Option<(super::signing::SigningAlgorithm, [u8; 16])>,
    /// Seal the response with this (LOGOFF of an encrypted session).
    pub seal_override: Option<super::seal::Seal>,
    /// The SessionId of the TRANSFORM_HEADER the request came in, when it
    /// came encrypted (MS-SMB2 Request.TransformSessionId).
    pub encrypted: Option<u64>,
    pub preauth: PreauthTarget,
    /// Set when the request is being completed asynchronously.
    pub async_id: Option<u64>,
    /// The op id under which a handler that goes async parks its wait.
    pub op: Option<u64>,
    /// Whether a data operation may leave the core as a storage request: a
    /// lone request (not in a compound, not resumed after going async).
    /// Otherwise it runs inline, so compounds keep their order.
    pub io_allowed: bool,
    /// What the reply needs once the storage request completes.
    pub io_wait: Option<IoKind>,
    /// A lone WRITE's data, when the adapter received it into pipes
    /// ([`crate::Server::handle_spliced_frame`]); `msg` then ends where
    /// the data would begin.
    pub payload: Option<crate::splice::PipedData>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        core: &'a mut Core,
        smb: &'a mut SmbShared,
        conn: &'a mut SmbConnection,
        hdr: Header,
        msg: Bytes,
        now: Instant,
    ) -> Self {
        Self {
            core,
            smb,
            conn,
            hdr,
            msg,
            now,
            chain_file: None,
            resp_session: None,
            resp_tree: None,
            used_file: None,
            force_sign: false,
            sign_override: None,
            seal_override: None,
            encrypted: None,
            preauth: PreauthTarget::None,
            async_id: None,
            op: None,
            io_allowed: false,
            io_wait: None,
            payload: None,
        }
    }

    pub fn wall(&self) -> Timespec {
        self.core.wall(self.now)
    }

    /// The op id for a wait this request registers (allocated on first use).
    pub fn op_id(&mut self) -> u64 {
        if let Some(op) = self.op {
            return op;
        }
        let op = self.conn.next_op;
        self.conn.next_op += 1;
        self.op = Some(op);
        op
    }

    /// The authenticated session of the request (MS-SMB2 3.3.5.2.9).
    pub fn session(&mut self) -> Result<&mut Session, u32> {
        match self.smb.session_mut(self.conn.id, self.hdr.session_id) {
            Some(s) if s.valid => Ok(s),
            _ => Err(status::USER_SESSION_DELETED),
        }
    }

    /// The Unix identity the request's session acts as (smb/access.rs).
    pub fn identity(&mut self) -> Result<crate::access::Identity, u32> {
        let who = self.session()?.identity.clone();
        Ok(crate::smb::access::identity_of(&self.core.config.smb, who.as_ref()))
    }

    /// The tree of the request (MS-SMB2 3.3.5.2.11).
    pub fn tree(&mut self) -> Result<Tree, u32> {
        let tid = self.hdr.tree_id;
        self.session()?.trees.get(&tid).cloned().ok_or(status::NETWORK_NAME_DELETED)
    }

    /// Resolves the related-compound FileId and records it for the chain.
    pub fn file_id(&mut self, fid: FileId) -> Result<FileId, u32> {
        let fid = match fid == FileId::RELATED {
            true => self.chain_file.ok_or(status::FILE_CLOSED)?,
            false => fid,
        };
        self.used_file = Some(fid);
        Ok(fid)
    }

    /// The open named by `fid` in this session and tree.
    pub fn open(&mut self, fid: FileId) -> Result<&mut Open, u32> {
        let fid = self.file_id(fid)?;
        self.tree()?;
        let tid = self.hdr.tree_id;
        self.session()?.open_mut(fid, tid).ok_or(status::FILE_CLOSED)
    }
}
