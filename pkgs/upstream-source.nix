# The InvenTree source tree of the pinned release, exactly as GitHub serves it.
{
  fetchFromGitHub,
  release,
}:
fetchFromGitHub {
  owner = "inventree";
  repo = "InvenTree";
  tag = release.version;
  hash = release.srcHash;
}
