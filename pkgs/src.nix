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

  # Django's management commands need a configuration; give them a throwaway
  # one in the build directory (nothing of it reaches $out but static files).
  buildPhase = ''
    runHook preBuild

    web=src/backend/InvenTree/web/static/web
    rm -rf "$web"
    mkdir -p "$(dirname "$web")"
    cp -r ${frontend} "$web"
    chmod -R u+w "$web"

    # The packager's record, read by settings (dotenv) and by the patched
    # version.py/tasks.py/config.py: the commit, and "NIX" as the installer.
    echo ${release.commit} > commit_hash.txt
    {
      echo INVENTREE_COMMIT_HASH=${release.commit}
      echo INVENTREE_PKG_INSTALLER=NIX
    } > VERSION
    ${lib.optionalString (release.commitDate != null) ''
      echo ${release.commitDate} > commit_date.txt
      echo INVENTREE_COMMIT_DATE=${release.commitDate} >> VERSION
    ''}

    scratch=$(mktemp -d)
    export HOME=$scratch
    export INVENTREE_CONFIG_FILE=$scratch/config.yaml
    export INVENTREE_SECRET_KEY=build-time-only-not-a-secret
    export INVENTREE_PLUGIN_FILE=$scratch/plugins.txt
    export INVENTREE_PLUGINS_ENABLED=false
    export INVENTREE_DB_ENGINE=sqlite3
    export INVENTREE_DB_NAME=$scratch/build.sqlite3
    export INVENTREE_MEDIA_ROOT=$scratch/media
    export INVENTREE_BACKUP_DIR=$scratch/backup
    export INVENTREE_STATIC_ROOT=$PWD/static
    export INVENTREE_SITE_URL=http://localhost

    pushd src/backend/InvenTree >/dev/null
    python manage.py compilemessages --verbosity 0
    python manage.py collectstatic --no-input --verbosity 0
    popd >/dev/null
    rm -rf "$scratch"

    # Bytecode next to the sources: the store is read-only, so Python could
    # not cache it at run time. Hash-based, as store timestamps are all 1970.
    python -m compileall -q --invalidation-mode unchecked-hash src/backend/InvenTree tasks.py

    runHook postBuild
  '';

  installPhase = ''
    runHook preInstall
    mkdir -p $out
    cp -r . $out

    # The layout of the package this one replaces kept the source tree in
    # $out/src; keep its project root path, ''${src}/src/src/backend/InvenTree,
    # working (a sibling link, so no directory loop).
    mkdir $out/src/src
    ln -s ../backend $out/src/src/backend
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
