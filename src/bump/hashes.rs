//! Hashes of the pinned sources: from `nix store prefetch-file --json`, or from the "got:" line of
//! a fixed-output hash mismatch when only a build can tell.

use serde::Deserialize;

/// What `nix store prefetch-file --json` prints.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Prefetched {
    /// SRI hash (`sha256-…`), as `fetchFromGitHub`/`fetchzip` take it with `hash =`.
    pub hash: String,
    pub store_path: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HashError {
    #[error("`nix store prefetch-file --json` printed something else than its JSON object: {0}")]
    Malformed(String),
    #[error("not an SRI sha256 hash: {0:?}")]
    NotSri(String),
}

pub fn parse_prefetch(stdout: &str) -> Result<Prefetched, HashError> {
    let prefetched: Prefetched =
        serde_json::from_str(stdout.trim()).map_err(|e| HashError::Malformed(e.to_string()))?;
    check_sri(&prefetched.hash)?;
    Ok(prefetched)
}

/// A hash in the form the pins use: `sha256-` and 44 base64 characters.
pub fn check_sri(hash: &str) -> Result<(), HashError> {
    let ok = hash.strip_prefix("sha256-").is_some_and(|b64| {
        b64.len() == 44
            && b64.ends_with('=')
            && b64[..43]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    });
    if ok {
        Ok(())
    } else {
        Err(HashError::NotSri(hash.to_owned()))
    }
}

/// The placeholder a pin gets while its real hash is unknown (nixpkgs' `lib.fakeHash`); a build
/// then fails with a mismatch whose "got:" line is the real hash.
pub const FAKE_HASH: &str = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// A fixed-output hash mismatch in a failed nix call's stderr: `(what, specified, got)`.
/// Classification is the nix runner's (`nix::errors`); this only picks out the mismatch.
pub fn mismatch(stderr: &str) -> Option<(String, String, String)> {
    match crate::nix::errors::classify("", "", stderr) {
        crate::nix::NixError::HashMismatch {
            what,
            specified,
            got,
            ..
        } => Some((what, specified, got)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_hash_of_a_recorded_prefetch() {
        let recorded = include_str!("../../tests/data/bump/prefetch-unpack.json");
        let p = parse_prefetch(recorded).unwrap();
        assert_eq!(
            p.hash,
            "sha256-ZCHMY5EG1GzSOMU8zFpQjL+smzNA9VE66tBPcm8Q/1s="
        );
        assert!(p.store_path.ends_with("-demo-1.3.5.tar.gz"));
    }

    #[test]
    fn reads_specified_and_got_from_a_recorded_mismatch() {
        let recorded = include_str!("../../tests/data/bump/hash-mismatch.stderr");
        let (what, specified, got) = mismatch(recorded).expect("a mismatch");
        assert!(what.contains("bump-mismatch-demo.drv"), "{what}");
        assert_eq!(specified, FAKE_HASH);
        assert_eq!(got, "sha256-mOpuTyFvL7S2n/+bOkSELDhobKaF8/VdxIxdP7EQe+Q=");
    }

    #[test]
    fn finds_no_mismatch_in_an_offline_download_failure() {
        let recorded = include_str!("../../tests/data/bump/prefetch-offline.stderr");
        assert!(mismatch(recorded).is_none());
    }

    #[test]
    fn rejects_hashes_pins_cannot_take() {
        assert!(check_sri("sha256-Pp8eoVU8VwYCGwFoBnqbc7xVPhe7+84cAc9tM1sSZ2U=").is_ok());
        assert!(check_sri("0v2x3mhbq3hdd1adz8aygh7kz4gws3qi8xagfmd7qi0ky16nfsa5").is_err());
        assert!(check_sri("sha512-abc=").is_err());
        assert!(parse_prefetch("error: unable to download").is_err());
    }
}
