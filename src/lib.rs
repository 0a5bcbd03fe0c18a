//! inventree-harness: proves that the nixos-inventree packages and module really work.
//!
//! See `docs/ARCHITECTURE.md` for which module owns which concern. Each subcommand lives in
//! `cmd/<name>.rs`; each tier's machinery in its own module below; `tiers` says which tiers this
//! machine supports and why not.

// No function over ~80 lines (clippy counts code lines; the threshold is in clippy.toml), so
// `cargo clippy -- -D warnings` keeps it that way.
#![warn(clippy::too_many_lines)]

pub mod browser;
pub mod bump;
pub mod cache;
pub mod cli;
pub mod cmd;
pub mod context;
pub mod demand;
pub mod eval;
pub mod fontconfig;
pub mod host;
pub mod nix;
pub mod overrides;
pub mod prepared_src;
pub mod printing;
pub mod probe;
pub mod process;
pub mod smtp_sink;
pub mod systemd;
pub mod tiers;
pub mod util;
pub mod vm;
