//! inventree-harness: proves that the nixos-inventree packages and module really work.
//!
//! See `docs/ARCHITECTURE.md` for which module owns which concern.
