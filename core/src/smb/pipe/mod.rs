//! Named pipes on IPC$ (MS-SMB2 3.3.5.9 for pipes; MS-SRVS 2.1): the
//! `srvsvc` pipe, a message-mode pipe carrying connection-oriented
//! DCE/RPC. Each open has its own RPC state and a bounded queue of
//! response messages.

pub mod dcerpc;
pub mod handlers;
pub mod ndr;
pub mod srvsvc;

use std::collections::VecDeque;

use dcerpc::*;
use srvsvc::{SRVSVC_SYNTAX, ServerView};

use crate::smb::wire::codec::FileId;

/// The pipes served, by name without a leading backslash.
pub const PIPE_NAMES: &[&str] = &["srvsvc"];

/// Largest fragment this server sends or receives.
pub const MAX_FRAG: u16 = 4280;
/// Smallest fragment size a peer must accept (C706 12.6.3.6 MustRecvFragSize).
const MIN_FRAG: u16 = 1432;
/// Pending output beyond which writes are refused.
pub const MAX_OUTPUT: usize = 1024 * 1024;
/// Request stub bytes kept across fragments.
const MAX_REQUEST_STUB: usize = 256 * 1024;
/// Association group id given when a client asks for a new one.
const ASSOC_GROUP: u32 = 0x0000_53F0;

/// Whether `name` (from a CREATE on IPC$) names a served pipe.
pub fn pipe_name(name: &str) -> Option<&'static str> {
    let n = name.trim_start_matches('\\');
    PIPE_NAMES.iter().copied().find(|p| p.eq_ignore_ascii_case(n))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PipeError {
    #[error("too much output pending")]
    Full,
    #[error("malformed PDU: {0}")]
    Pdu(#[from] PduError),
}

/// A request being reassembled from several fragments.
#[derive(Debug, Clone)]
struct PartialRequest {
    call_id: u32,
    context_id: u16,
    opnum: u16,
    stub: Vec<u8>,
}

/// An open of a named pipe (the Open of MS-SMB2 3.3.1.10 for a pipe).
#[derive(Debug, Clone)]
pub struct PipeOpen {
    pub file_id: FileId,
    pub tree_id: u32,
    pub name: &'static str,
    /// Bytes written but not yet forming a whole PDU.
    input: Vec<u8>,
    /// Response messages (one PDU each), the front one partly read.
    output: VecDeque<Vec<u8>>,
    output_bytes: usize,
    /// Context id bound to srvsvc/NDR, once bound.
    bound: Option<u16>,
    /// The peer's max_recv_frag as negotiated.
    max_xmit: u16,
    partial: Option<PartialRequest>,
}

impl PipeOpen {
    pub fn new(file_id: FileId, tree_id: u32, name: &'static str) -> Self {
        Self {
            file_id,
            tree_id,
            name,
            input: Vec::new(),
            output: VecDeque::new(),
            output_bytes: 0,
            bound: None,
            max_xmit: MAX_FRAG,
            partial: None,
        }
    }

    /// Bytes waiting to be read.
    pub fn available(&self) -> usize {
        self.output_bytes
    }

    /// A WRITE (or the input of a transceive): whole PDUs are answered at
    /// once; a trailing partial PDU waits for the next write.
    pub fn write(&mut self, data: &[u8], view: &ServerView) -> Result<(), PipeError> {
        if self.output_bytes >= MAX_OUTPUT {
            return Err(PipeError::Full);
        }
        self.input.extend_from_slice(data);
        let mut used = 0;
        let result = loop {
            let Some(rest) = self.input.get(used..) else { break Ok(()) };
            let h = match PduHeader::decode(rest) {
                Ok(h) => h,
                Err(PduError::Short) => break Ok(()),
                Err(e) => break Err(PipeError::Pdu(e)),
            };
            let Some(pdu) = rest.get(..usize::from(h.frag_length)) else { break Ok(()) };
            let pdu = pdu.to_vec();
            used += pdu.len();
            self.pdu(&h, &pdu, view);
            if self.output_bytes > MAX_OUTPUT {
                break Err(PipeError::Full);
            }
        };
        match result {
            Ok(()) => {
                self.input.drain(..used.min(self.input.len()));
            }
            Err(_) => self.input.clear(),
        }
        result
    }

    /// Reads up to `max` bytes of the next message; true when the message
    /// did not fit (STATUS_BUFFER_OVERFLOW, the rest stays queued).
    pub fn read(&mut self, max: usize) -> (Vec<u8>, bool) {
        let Some(front) = self.output.front_mut() else { return (Vec::new(), false) };
        if front.len() <= max {
            let m = self.output.pop_front().unwrap_or_default();
            self.output_bytes -= m.len();
            return (m, false);
        }
        let rest = front.split_off(max);
        let head = std::mem::replace(front, rest);
        self.output_bytes -= head.len();
        (head, true)
    }

    fn push(&mut self, pdu: Vec<u8>) {
        self.output_bytes += pdu.len();
        self.output.push_back(pdu);
    }

    /// Queues the one PDU `encode` writes.
    fn reply(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        let mut pdu = Vec::new();
        encode(&mut pdu);
        self.push(pdu);
    }

    fn pdu(&mut self, h: &PduHeader, pdu: &[u8], view: &ServerView) {
        match h.ptype {
            ptype::BIND | ptype::ALTER_CONTEXT => self.bind(h, pdu),
            ptype::REQUEST => self.request(h, pdu, view),
            // No authentication is offered; AUTH3 has no reply.
            ptype::AUTH3 => {}
            _ => self.reply(|b| encode_fault(h.call_id, 0, NCA_S_PROTO_ERROR, true, b)),
        }
    }

    /// BIND / ALTER_CONTEXT (C706 12.6.4.3; MS-RPCE 3.3.1.5.3).
    fn bind(&mut self, h: &PduHeader, pdu: &[u8]) {
        let alter = h.ptype == ptype::ALTER_CONTEXT;
        let b = match Bind::decode(pdu) {
            Ok(b) => b,
            Err(_) if alter => return self.reply(|b| encode_fault(h.call_id, 0, NCA_S_PROTO_ERROR, true, b)),
            Err(_) => return self.reply(|b| encode_bind_nak(h.call_id, REASON_NOT_SPECIFIED, b)),
        };
        if !alter && !b.contexts.iter().any(|c| c.abstract_syntax == SRVSVC_SYNTAX) {
            return self.reply(|b| encode_bind_nak(h.call_id, REASON_NOT_SPECIFIED, b));
        }
        let mut results = Vec::with_capacity(b.contexts.len());
        for c in &b.contexts {
            let r = if c.abstract_syntax != SRVSVC_SYNTAX {
                ContextResult {
                    result: RESULT_PROVIDER_REJECTION,
                    reason: REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED,
                    transfer_syntax: SyntaxId::ZERO,
                }
            } else if c.transfer_syntaxes.contains(&NDR_SYNTAX) && self.bound.is_none_or(|id| id == c.context_id) {
                self.bound = Some(c.context_id);
                ContextResult { result: RESULT_ACCEPTANCE, reason: 0, transfer_syntax: NDR_SYNTAX }
            } else {
                ContextResult {
                    result: RESULT_PROVIDER_REJECTION,
                    reason: REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED,
                    transfer_syntax: SyntaxId::ZERO,
                }
            };
            results.push(r);
        }
        self.max_xmit = b.max_recv_frag.clamp(MIN_FRAG, MAX_FRAG);
        let ack = BindAck {
            max_xmit_frag: self.max_xmit,
            max_recv_frag: b.max_xmit_frag.clamp(MIN_FRAG, MAX_FRAG),
            assoc_group_id: if b.assoc_group_id == 0 { ASSOC_GROUP } else { b.assoc_group_id },
            sec_addr: if alter { String::new() } else { format!("\\PIPE\\{}", self.name) },
            results,
        };
        let pt = if alter { ptype::ALTER_CONTEXT_RESP } else { ptype::BIND_ACK };
        self.reply(|b| ack.encode(pt, h.call_id, b));
    }

    /// REQUEST (C706 12.6.4.9): fragments are joined, then the call runs.
    fn request(&mut self, h: &PduHeader, pdu: &[u8], view: &ServerView) {
        let req = match Request::decode(h, pdu) {
            Ok(r) => r,
            Err(_) => return self.reply(|b| encode_fault(h.call_id, 0, NCA_S_PROTO_ERROR, true, b)),
        };
        if h.flags & PFC_FIRST_FRAG != 0 {
            self.partial = None;
        }
        let mut part = match self.partial.take() {
            Some(p) if p.call_id == h.call_id => p,
            Some(_) => return self.reply(|b| encode_fault(h.call_id, req.context_id, NCA_S_PROTO_ERROR, true, b)),
            None if h.flags & PFC_FIRST_FRAG != 0 => {
                PartialRequest { call_id: h.call_id, context_id: req.context_id, opnum: req.opnum, stub: Vec::new() }
            }
            None => return self.reply(|b| encode_fault(h.call_id, req.context_id, NCA_S_PROTO_ERROR, true, b)),
        };
        if part.stub.len() + req.stub.len() > MAX_REQUEST_STUB {
            return self.reply(|b| encode_fault(h.call_id, part.context_id, NCA_S_PROTO_ERROR, true, b));
        }
        part.stub.extend_from_slice(req.stub);
        if h.flags & PFC_LAST_FRAG == 0 {
            self.partial = Some(part);
            return;
        }
        if self.bound != Some(part.context_id) {
            return self.reply(|b| encode_fault(h.call_id, part.context_id, NCA_S_UNK_IF, true, b));
        }
        match srvsvc::call(view, part.opnum, &part.stub) {
            Ok(stub) => {
                for f in encode_response(h.call_id, part.context_id, &stub, self.max_xmit) {
                    self.push(f);
                }
            }
            Err(status) => self.reply(|b| encode_fault(h.call_id, part.context_id, status, true, b)),
        }
    }
}

#[cfg(test)]
mod tests;
