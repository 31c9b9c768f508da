pub mod create_context;
pub mod oplock_break;
