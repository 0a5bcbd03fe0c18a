# The web frontend built from the release's source with yarn, instead of the
# release's prebuilt zip: same layout as `frontend`. Use it with
#   pkgs.inventree.overrideScope (final: _prev: { frontend = final.frontend-from-source; })
# The build needs ~3 GB of memory (vite).
{
  lib,
  stdenv,
  fetchYarnDeps,
  nodejs,
  yarnConfigHook,
  upstream-source,
  release,
}:
stdenv.mkDerivation (finalAttrs: {
  pname = "inventree-frontend-from-source";
  inherit (release) version;

  src = upstream-source;
  sourceRoot = "${finalAttrs.src.name}/src/frontend";

  # Offline yarn cache from yarn.lock (the lock resolves from the npm registry only).
  yarnOfflineCache = fetchYarnDeps {
    yarnLock = "${finalAttrs.src}/src/frontend/yarn.lock";
    hash = release.yarnDepsHash;
  };

  nativeBuildInputs = [
    nodejs
    yarnConfigHook
  ];

  # vite writes into the backend tree beside the frontend; build into this
  # directory instead (only the source root is writable).
  postPatch = ''
    substituteInPlace vite.config.ts \
      --replace-fail "'../../src/backend/InvenTree/web/static/web'" "'build/web'"
  '';

  # The same steps as InvenTree's `invoke int.frontend-compile`:
  # translations (extract, compile), then the production build.
  buildPhase = ''
    runHook preBuild
    export PATH="$PWD/node_modules/.bin:$PATH"
    yarn --offline run extract
    yarn --offline run compile
    yarn --offline run build
    runHook postBuild
  '';

  installPhase = ''
    runHook preInstall
    cp -r build/web $out
    runHook postInstall
  '';

  meta = {
    description = "InvenTree web frontend, built from source";
    homepage = "https://inventree.org/";
    license = lib.licenses.mit;
    platforms = lib.platforms.linux;
  };
})
