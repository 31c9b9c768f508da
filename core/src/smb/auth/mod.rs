//! STUB (replaced by the auth helper's module at merge).
#![allow(dead_code, unused_variables)]

use crate::config::User;

pub fn negotiate_token() -> Vec<u8> {
    Vec::new()
}

#[derive(Debug)]
pub struct AuthUsers<'a> {
    pub users: &'a [User],
    pub guest: bool,
    pub domain: &'a str,
    pub server_name: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    User(String),
    Guest,
    Anonymous,
}

#[derive(Debug)]
pub enum AuthStep {
    Continue { token: Vec<u8> },
    Done { token: Vec<u8>, identity: Identity, session_key: Option<[u8; 16]> },
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("logon failure")]
    LogonFailure,
    #[error("invalid")]
    Invalid,
}

#[derive(Debug)]
pub struct NtlmAcceptor {
    step: u8,
}

impl NtlmAcceptor {
    pub fn new(_challenge: [u8; 8], _timestamp_filetime: u64) -> Self {
        Self { step: 0 }
    }

    pub fn step(&mut self, _users: &AuthUsers<'_>, _token: &[u8]) -> Result<AuthStep, AuthError> {
        self.step += 1;
        match self.step {
            1 => Ok(AuthStep::Continue { token: Vec::new() }),
            _ => Ok(AuthStep::Done { token: Vec::new(), identity: Identity::Guest, session_key: None }),
        }
    }
}
