//! The systemd tier: the units exactly as NixOS renders them, installed in a container booted
//! with a real systemd (`systemd-nspawn`), started, probed from the host, restarted, broken on
//! purpose, and powered off with nothing left running.
//!
//! `prerequisites` checks what the tier needs, `python` merges the container's Python,
//! `store` builds the stand-in `/nix/store` (the only change to what NixOS would run),
//! `container` boots and enters a container, `install` puts a plan's units, accounts, tmpfiles
//! and credentials in place (and compares unit files directive by directive), `deployment` ties
//! them together for one fixture, `scenarios` holds the checks with their figures.

pub mod container;
pub mod deployment;
pub mod install;
pub mod prerequisites;
pub mod python;
pub mod scenarios;
pub mod store;

pub use prerequisites::{systemd_prerequisites, SystemdEnv};
