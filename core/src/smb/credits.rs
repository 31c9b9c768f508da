//! The MessageId window a connection may use (MS-SMB2 3.3.1.1, 3.3.5.2.3).
//!
//! Ids below `low` are consumed; ids in `[low, high)` are granted; `used`
//! holds the granted ids already consumed out of order. A request consumes
//! CreditCharge consecutive ids. A reused or never-granted id is a protocol
//! violation: the connection is dropped (3.3.5.2.3 "terminate the
//! connection").

use std::collections::BTreeSet;

#[derive(Debug, Clone)]
pub struct CreditWindow {
    low: u64,
    high: u64,
    used: BTreeSet<u64>,
}

impl Default for CreditWindow {
    fn default() -> Self {
        // MessageId 0 is granted implicitly for the first NEGOTIATE.
        Self { low: 0, high: 1, used: BTreeSet::new() }
    }
}

impl CreditWindow {
    /// Credits the client still holds.
    pub fn outstanding(&self) -> u64 {
        (self.high - self.low).saturating_sub(self.used.len() as u64)
    }

    /// Consumes `charge` ids starting at `message_id` if all are granted and
    /// unused.
    pub fn consume(&mut self, message_id: u64, charge: u16) -> bool {
        let charge = u64::from(charge.max(1));
        let Some(end) = message_id.checked_add(charge) else { return false };
        if message_id < self.low || end > self.high || message_id == u64::MAX {
            return false;
        }
        if self.used.range(message_id..end).next().is_some() {
            return false;
        }
        self.used.extend(message_id..end);
        while self.used.remove(&self.low) {
            self.low += 1;
        }
        true
    }

    /// Grants up to `requested` new credits (at least 1 when the client holds
    /// none) without letting it hold more than `max`. Returns the grant.
    pub fn grant(&mut self, requested: u16, max: u16) -> u16 {
        let held = self.outstanding();
        let room = u64::from(max.max(1)).saturating_sub(held);
        let mut g = u64::from(requested).min(room);
        if held == 0 && g == 0 {
            g = 1;
        }
        self.high += g;
        g as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_rejects_reuse_and_ungranted_ids() {
        let mut w = CreditWindow::default();
        assert!(!w.consume(1, 1));
        assert!(w.consume(0, 0));
        assert!(!w.consume(0, 1), "reused");
        assert_eq!(w.outstanding(), 0);
        assert_eq!(w.grant(0, 100), 1, "at least one credit when none are held");
        assert_eq!(w.grant(10, 100), 10);
        assert_eq!(w.outstanding(), 11);
        // Out of order and multi-credit.
        assert!(w.consume(5, 3));
        assert!(!w.consume(6, 1));
        assert!(w.consume(1, 1));
        assert!(!w.consume(11, 2), "past the window");
        assert_eq!(w.outstanding(), 7);
        assert_eq!(w.grant(500, 8), 1, "capped by the maximum");
        assert!(!w.consume(u64::MAX, 1));
    }
}
