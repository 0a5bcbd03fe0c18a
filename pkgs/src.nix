# InvenTree's source tree as the service runs it: the release source, patched
# for a read-only store, with the web frontend in place, translations
# compiled, the commit recorded, and static files collected into `static/`.
# The Django project root is `${src}/src/backend/InvenTree`.
{
  lib,
  stdenvNoCC,
  gettext,
  upstream-source,
  frontend,
  python,
  release,
}:
stdenvNoCC.mkDerivation (finalAttrs: {
  pname = "inventree-src";
  inherit (release) version;

  src = upstream-source;

  patches = [
    # invoke tasks that would write into the store say what to do instead;
    # inventree-invoke is not flagged as the "wrong invoke environment"
    ./patches/tasks-read-only-store.patch
    # no git repository: read the commit from the VERSION file, do not warn
    ./patches/version-commit-from-packager.patch
    # the configuration directory is the config file's, not the read-only
    # source tree (else every start warns INVE-W10 and the UI shows it)
    ./patches/config-dir-beside-config-file.patch
  ];

  nativeBuildInputs = [
    gettext # msgfmt, for compilemessages
    python
  ];

  dontConfigure = true;

  # The same script prepares local trees for the harness's host, systemd and browser tiers
  # (src/prepared_src.rs), so what they run is what this package holds.
  buildPhase = ''
    runHook preBuild
    export COMMIT=${release.commit}
    ${lib.optionalString (release.commitDate != null) "export COMMIT_DATE=${release.commitDate}"}
    export FRONTEND=${frontend}
    export PYTHON=python
    bash ${./prepare-src.sh}
    runHook postBuild
  '';

  installPhase = ''
    runHook preInstall
    mkdir -p $out
    cp -r . $out
    runHook postInstall
  '';

  passthru = {
    # Static files collected at build time: the module copies them to
    # static_root (INVENTREE_STATIC_SOURCE) instead of running collectstatic.
    static = "${finalAttrs.finalPackage}/static";
    # The Django project root (where manage.py lives).
    projectRoot = "${finalAttrs.finalPackage}/src/backend/InvenTree";
    inherit frontend;
  };

  meta = {
    description = "InvenTree ${release.version} source with frontend, translations and static files";
    homepage = "https://inventree.org/";
    changelog = "https://github.com/inventree/InvenTree/releases/tag/${release.version}";
    license = lib.licenses.mit;
    platforms = lib.platforms.linux;
  };
})
