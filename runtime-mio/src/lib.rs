//! Runtime adapter (work in progress).
