# The release's prebuilt web frontend (the single-page app served at /web/):
# the contents of InvenTree's `src/backend/InvenTree/web/static/web`.
{
  fetchzip,
  release,
}:
fetchzip {
  name = "inventree-frontend-${release.version}";
  url = "https://github.com/inventree/InvenTree/releases/download/${release.version}/frontend-build.zip";
  stripRoot = false;
  hash = release.frontendHash;
}
