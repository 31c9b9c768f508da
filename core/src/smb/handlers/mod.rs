//! One handler module per command group; [`dispatch_command`] routes a
//! request to its handler.

pub mod binding;
pub mod close;
pub mod compression;
pub mod copychunk;
pub mod create;
pub mod directory;
pub mod durable;
pub mod ea;
pub mod info;
pub mod ioctl;
pub mod lock;
pub mod misc;
pub mod negotiate;
pub mod open_info;
pub mod oplock_break;
pub mod path;
pub mod read_write;
pub mod session;
pub mod set_info;
pub mod sparse;
pub mod stream_rename;
pub mod tree;

use super::ctx::{Ctx, HandlerResult};
use super::status;
use super::wire::header::command;

pub fn dispatch_command(cx: &mut Ctx<'_>) -> HandlerResult {
    match cx.hdr.command {
        command::NEGOTIATE => negotiate::negotiate(cx),
        command::SESSION_SETUP => session::session_setup(cx),
        command::LOGOFF => session::logoff(cx),
        command::TREE_CONNECT => tree::tree_connect(cx),
        command::TREE_DISCONNECT => tree::tree_disconnect(cx),
        command::CREATE => create::create(cx),
        command::CLOSE => close::close(cx),
        command::FLUSH => read_write::flush(cx),
        command::READ => read_write::read(cx),
        command::WRITE => read_write::write(cx),
        command::LOCK => lock::lock(cx),
        command::IOCTL => ioctl::ioctl(cx),
        command::ECHO => misc::echo(cx),
        command::QUERY_DIRECTORY => directory::query_directory(cx),
        command::CHANGE_NOTIFY => misc::change_notify(cx),
        command::QUERY_INFO => info::query_info(cx),
        command::SET_INFO => set_info::set_info(cx),
        command::OPLOCK_BREAK => oplock_break::oplock_break(cx),
        _ => Err(status::INVALID_PARAMETER),
    }
}
