//! Placeholder backend until the Foundation storage work lands.
use super::*;
#[derive(Debug, Default)]
pub struct LocalFs;
