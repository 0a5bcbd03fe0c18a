//! Where a release's pinned artefacts come from, and the tag's commit from `git ls-remote`.

use super::version::Version;

pub const REPOSITORY: &str = "https://github.com/inventree/InvenTree";

/// The tarball `fetchFromGitHub { owner = "inventree"; repo = "InvenTree"; rev = TAG; }` fetches;
/// its `--unpack` prefetch hash is the `hash` fetchFromGitHub takes.
pub fn source_url(tag: &str) -> String {
    format!("{REPOSITORY}/archive/{tag}.tar.gz")
}

/// The prebuilt frontend the release publishes.
pub fn frontend_url(tag: &str) -> String {
    format!("{REPOSITORY}/releases/download/{tag}/frontend-build.zip")
}

/// The backend requirements inside the source tree.
pub const REQUIREMENTS_PATH: &str = "src/backend/requirements.txt";

/// InvenTree tags releases without a `v` prefix (`1.3.5`).
pub fn tag_of(version: &Version) -> String {
    version.to_string()
}

/// The commit a tag points at, from `git ls-remote REPO refs/tags/TAG refs/tags/TAG^{}` output:
/// the peeled line (`^{}`) of an annotated tag wins over the tag object itself.
pub fn commit_from_ls_remote(output: &str, tag: &str) -> Option<String> {
    let direct = format!("refs/tags/{tag}");
    let peeled = format!("refs/tags/{tag}^{{}}");
    let mut found = None;
    for line in output.lines() {
        let Some((sha, reference)) = line.split_once('\t') else {
            continue;
        };
        let sha = sha.trim();
        if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        if reference.trim() == peeled {
            return Some(sha.to_owned());
        }
        if reference.trim() == direct {
            found = Some(sha.to_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_release_layout() {
        assert_eq!(
            source_url("1.3.5"),
            "https://github.com/inventree/InvenTree/archive/1.3.5.tar.gz"
        );
        assert_eq!(
            frontend_url("1.3.5"),
            "https://github.com/inventree/InvenTree/releases/download/1.3.5/frontend-build.zip"
        );
    }

    #[test]
    fn a_lightweight_tag_is_its_commit() {
        let out = "d8cac9bb61351cfd987593b4026357f8819b23f3\trefs/tags/1.3.5\n";
        assert_eq!(
            commit_from_ls_remote(out, "1.3.5").as_deref(),
            Some("d8cac9bb61351cfd987593b4026357f8819b23f3")
        );
    }

    #[test]
    fn an_annotated_tag_is_peeled_to_its_commit() {
        let out = "1111111111111111111111111111111111111111\trefs/tags/1.3.5\n\
                   d8cac9bb61351cfd987593b4026357f8819b23f3\trefs/tags/1.3.5^{}\n";
        assert_eq!(
            commit_from_ls_remote(out, "1.3.5").as_deref(),
            Some("d8cac9bb61351cfd987593b4026357f8819b23f3")
        );
    }

    #[test]
    fn other_tags_and_noise_are_ignored() {
        let out =
            "warning: redirecting\nd8cac9bb61351cfd987593b4026357f8819b23f3\trefs/tags/1.3.50\n";
        assert_eq!(commit_from_ls_remote(out, "1.3.5"), None);
    }
}
