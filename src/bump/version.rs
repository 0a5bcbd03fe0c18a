//! InvenTree release versions: parsing tags (`1.3.5`, `v1.3.5`, `1.4.0-rc1`) and ordering them.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A release version `MAJOR.MINOR.PATCH[-PRE]`, as InvenTree tags its releases.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// Pre-release suffix (`rc1`, `dev`); a pre-release sorts before its release.
    pub pre: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a release version: {input:?} (expected MAJOR.MINOR.PATCH, e.g. 1.3.5)")]
pub struct VersionError {
    pub input: String,
}

impl Version {
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some()
    }
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = || VersionError {
            input: input.to_owned(),
        };
        let trimmed = input.trim();
        let bare = trimmed.strip_prefix('v').unwrap_or(trimmed);
        let (numbers, pre) = match bare.split_once('-') {
            Some((numbers, pre)) if !pre.is_empty() => (numbers, Some(pre.to_owned())),
            Some(_) => return Err(error()),
            None => (bare, None),
        };
        let parts: Vec<&str> = numbers.split('.').collect();
        let [major, minor, patch] = parts.as_slice() else {
            return Err(error());
        };
        let number = |s: &str| -> Result<u64, VersionError> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(error());
            }
            s.parse().map_err(|_| error())
        };
        Ok(Version {
            major: number(major)?,
            minor: number(minor)?,
            patch: number(patch)?,
            pre,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(pre) = &self.pre {
            write!(f, "-{pre}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (&self.pre, &other.pre) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(b),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// What moving from one version to another is, for the report's headline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Same,
    Patch,
    Minor,
    Major,
    Downgrade,
}

pub fn classify(from: &Version, to: &Version) -> Change {
    match to.cmp(from) {
        Ordering::Equal => Change::Same,
        Ordering::Less => Change::Downgrade,
        Ordering::Greater if to.major != from.major => Change::Major,
        Ordering::Greater if to.minor != from.minor => Change::Minor,
        Ordering::Greater => Change::Patch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn v(s: &str) -> Version {
        s.parse().expect("test version parses")
    }

    #[rstest]
    #[case("1.3.5", 1, 3, 5, None)]
    #[case("v1.3.5", 1, 3, 5, None)]
    #[case(" 1.4.0 ", 1, 4, 0, None)]
    #[case("1.4.0-rc1", 1, 4, 0, Some("rc1"))]
    #[case("10.20.30", 10, 20, 30, None)]
    fn parses_release_tags(
        #[case] input: &str,
        #[case] major: u64,
        #[case] minor: u64,
        #[case] patch: u64,
        #[case] pre: Option<&str>,
    ) {
        assert_eq!(
            v(input),
            Version {
                major,
                minor,
                patch,
                pre: pre.map(str::to_owned)
            }
        );
    }

    #[rstest]
    #[case("")]
    #[case("1.3")]
    #[case("1.3.5.1")]
    #[case("1.3.x")]
    #[case("1..5")]
    #[case("1.3.5-")]
    #[case("latest")]
    #[case("+1.3.5")]
    fn rejects_what_is_not_a_release(#[case] input: &str) {
        let err = input.parse::<Version>().expect_err("must not parse");
        assert!(err.to_string().contains("MAJOR.MINOR.PATCH"), "{err}");
    }

    #[rstest]
    #[case("1.3.5", "1.3.6")]
    #[case("1.3.9", "1.3.10")]
    #[case("1.9.0", "1.10.0")]
    #[case("1.4.0-rc1", "1.4.0")]
    #[case("1.4.0-rc1", "1.4.0-rc2")]
    #[case("0.17.14", "1.0.0")]
    fn orders_numerically_with_prereleases_first(#[case] lower: &str, #[case] higher: &str) {
        assert!(v(lower) < v(higher), "{lower} < {higher}");
    }

    #[test]
    fn displays_without_the_v_prefix() {
        assert_eq!(v("v1.4.0-rc1").to_string(), "1.4.0-rc1");
    }

    #[rstest]
    #[case("1.3.5", "1.3.5", Change::Same)]
    #[case("1.3.5", "1.3.6", Change::Patch)]
    #[case("1.3.5", "1.4.0", Change::Minor)]
    #[case("1.3.5", "2.0.0", Change::Major)]
    #[case("1.3.5", "1.3.4", Change::Downgrade)]
    fn classifies_the_step(#[case] from: &str, #[case] to: &str, #[case] change: Change) {
        assert_eq!(classify(&v(from), &v(to)), change);
    }
}
