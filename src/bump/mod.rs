//! `inventree-harness bump`: move the pinned InvenTree release to another version and verify it.
//!
//! Pure pieces (version ordering, the release feed, hash parsing, pin rewriting, lock diff, report)
//! are separate modules with their own tests; `run` strings them together with the nix runner and
//! the tiers; `rehearsal` is what the release's own tree adds (migrations, the host tier on it).

pub mod feed;
pub mod hashes;
pub mod lockdiff;
pub mod pin;
pub mod process;
pub mod rehearsal;
pub mod report;
pub mod run;
pub mod sources;
pub mod version;
