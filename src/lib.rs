//! facade

#[cfg(feature = "testclient")]
pub mod testclient;
