//! Scenario tests (filled in below).
