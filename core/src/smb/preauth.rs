//! STUB (replaced by the auth helper's module at merge).
#![allow(dead_code, unused_variables)]

#[derive(Debug, Clone)]
pub struct PreauthHash([u8; 64]);

impl Default for PreauthHash {
    fn default() -> Self {
        Self::new()
    }
}

impl PreauthHash {
    pub fn new() -> Self {
        Self([0; 64])
    }
    pub fn update(&mut self, data: &[u8]) {}
    pub fn value(&self) -> &[u8; 64] {
        &self.0
    }
}
