//! Test support (feature `sim`): a virtual clock and in-memory connections.
