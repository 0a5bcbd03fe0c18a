//! The release feed (GitHub's releases API for inventree/InvenTree): which release is the latest
//! stable one, and where its artefacts are.

use serde::Deserialize;

use super::version::Version;

/// The feed `bump --latest` reads.
pub const RELEASES_URL: &str =
    "https://api.github.com/repos/inventree/InvenTree/releases?per_page=50";

/// One entry of `GET /repos/{owner}/{repo}/releases` (only the fields used).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Release {
    pub tag_name: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub prerelease: bool,
    #[serde(default)]
    pub published_at: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub assets: Vec<Asset>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Asset {
    pub name: String,
    pub browser_download_url: String,
}

/// The release a bump moves to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Chosen {
    pub version: Version,
    pub tag: String,
    pub published_at: Option<String>,
    pub html_url: Option<String>,
    /// The prebuilt frontend archive, when the release carries one.
    pub frontend_url: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FeedError {
    #[error("the release feed is not the JSON list GitHub's releases API returns: {0}")]
    Malformed(String),
    #[error("the release feed lists no stable release (drafts, pre-releases and tags that are not versions are skipped: {skipped:?})")]
    NoStableRelease { skipped: Vec<String> },
}

pub const FRONTEND_ASSET: &str = "frontend-build.zip";

pub fn parse(json: &str) -> Result<Vec<Release>, FeedError> {
    serde_json::from_str(json).map_err(|e| FeedError::Malformed(e.to_string()))
}

/// The highest-versioned release that is neither a draft nor a pre-release (by flag or by tag).
pub fn latest_stable(releases: &[Release]) -> Result<Chosen, FeedError> {
    let mut skipped = Vec::new();
    let mut best: Option<(Version, &Release)> = None;
    for release in releases {
        let version = match release.tag_name.parse::<Version>() {
            Ok(v) if !release.draft && !release.prerelease && !v.is_prerelease() => v,
            _ => {
                skipped.push(release.tag_name.clone());
                continue;
            }
        };
        let better = match &best {
            Some((current, _)) => version > *current,
            None => true,
        };
        if better {
            best = Some((version, release));
        }
    }
    let (version, release) = best.ok_or(FeedError::NoStableRelease { skipped })?;
    Ok(Chosen {
        version,
        tag: release.tag_name.clone(),
        published_at: release.published_at.clone(),
        html_url: release.html_url.clone(),
        frontend_url: release
            .assets
            .iter()
            .find(|a| a.name == FRONTEND_ASSET)
            .map(|a| a.browser_download_url.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(tag: &str, draft: bool, prerelease: bool) -> Release {
        Release {
            tag_name: tag.into(),
            name: None,
            draft,
            prerelease,
            published_at: None,
            html_url: None,
            assets: vec![],
        }
    }

    #[test]
    fn picks_the_highest_version_not_the_first_listed() {
        let feed = [
            release("1.3.4", false, false),
            release("1.3.10", false, false),
            release("1.3.9", false, false),
        ];
        assert_eq!(latest_stable(&feed).unwrap().tag, "1.3.10");
    }

    #[test]
    fn skips_drafts_prereleases_and_non_version_tags() {
        let feed = [
            release("1.5.0", true, false),
            release("1.4.0", false, true),
            release("1.4.1-rc1", false, false),
            release("nightly", false, false),
            release("1.3.5", false, false),
        ];
        assert_eq!(latest_stable(&feed).unwrap().tag, "1.3.5");
    }

    #[test]
    fn says_what_it_skipped_when_nothing_is_stable() {
        let feed = [
            release("1.4.0", false, true),
            release("latest", false, false),
        ];
        assert_eq!(
            latest_stable(&feed),
            Err(FeedError::NoStableRelease {
                skipped: vec!["1.4.0".into(), "latest".into()]
            })
        );
    }

    #[test]
    fn rejects_a_feed_that_is_not_a_list() {
        let err = parse(r#"{"message": "API rate limit exceeded"}"#).unwrap_err();
        assert!(matches!(err, FeedError::Malformed(_)), "{err}");
    }
}
