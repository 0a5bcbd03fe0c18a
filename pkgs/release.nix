# Facts about the pinned InvenTree release: the one file a version bump edits.
# Hashes are of the plain GitHub tarball and of the release's frontend zip.
{
  version = "1.3.5";

  # Commit the tag points at; recorded in the package so InvenTree reports it
  # without a git repository.
  commit = "d8cac9bb61351cfd987593b4026357f8819b23f3";

  # Date of that commit (`git show -s --format=%cs <commit>`), or null when
  # unknown: InvenTree then reports no commit date (no warning either way).
  # Not recorded for 1.3.5: it could not be looked up offline.
  commitDate = null;

  # fetchFromGitHub { owner = "inventree"; repo = "InvenTree"; tag = version; }
  srcHash = "sha256-Pp8eoVU8VwYCGwFoBnqbc7xVPhe7+84cAc9tM1sSZ2U=";

  # fetchzip of the release asset frontend-build.zip (stripRoot = false)
  frontendHash = "sha256-6jNYnSI9PJcYV7G+rgOnTfUsUTJlPzJxS9G7jJP/a/A=";

  # fetchYarnDeps of src/frontend/yarn.lock, for frontend-from-source.
  # Taken from nixpkgs' inventree 1.3.5 package, which fetches the same
  # yarn.lock; not re-computed here (no network to GitHub), so the build tier
  # confirms it. On a bump, set lib.fakeHash and use the hash nix reports.
  yarnDepsHash = "sha256-PIhmMIFHW+6jVZcS394yU9L5Zn+wkfrWmJH7lAbevbU=";
}
