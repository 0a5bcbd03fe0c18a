//! Everything that starts `nix`: the command builder and runner ([`command`]) and the
//! classification of its failures ([`errors`]).

pub mod command;
pub mod errors;

pub use command::{nix_version, NixCommand, NixOutput};
pub use errors::NixError;
