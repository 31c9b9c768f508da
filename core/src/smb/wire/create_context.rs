//! STUB (replaced by the ctxcodec helper's module at merge).
#![allow(dead_code, unused_variables)]

use bytes::{Bytes, BytesMut};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateContext {
    MaximalAccess { timestamp: Option<u64> },
    QueryOnDiskId,
    Unknown { name: Vec<u8> },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid create context")]
pub struct CreateContextError;

pub fn decode_create_contexts(b: &Bytes) -> Result<Vec<CreateContext>, CreateContextError> {
    Ok(Vec::new())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseContext {
    MaximalAccess { query_status: u32, maximal_access: u32 },
    QueryOnDiskId { disk_file_id: u64, volume_id: u64 },
}

pub fn encode_create_contexts(ctx: &[ResponseContext], out: &mut BytesMut) -> usize {
    0
}
