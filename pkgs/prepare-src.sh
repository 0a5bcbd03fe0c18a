# Prepares an (already patched) InvenTree source tree, in the current directory, the way the
# service runs it: the web frontend in place, the commit recorded, translations compiled, static
# files collected into ./static, bytecode beside the sources, and the old project-root path kept.
#
# One script for both users of it, so they cannot drift apart:
#   - pkgs/src.nix runs it as its build phase (in the Nix sandbox, on the release source);
#   - the harness (src/prepared_src.rs) runs it on a copy of a local tree, for the host, systemd
#     and browser tiers.
#
# Environment:
#   COMMIT       the commit to record (required)
#   COMMIT_DATE  its date, YYYY-MM-DD (optional)
#   FRONTEND     a built frontend to copy into web/static/web (optional: without it, the tree's
#                own web/static/web is kept as it is)
#   PYTHON       the interpreter with InvenTree's dependencies (default: python on PATH)
# msgfmt (gettext) must be on PATH.
set -euo pipefail

: "${COMMIT:?COMMIT: the commit to record}"
python=${PYTHON:-python}
project=src/backend/InvenTree
[ -f "$project/manage.py" ] || {
  echo "prepare-src: $PWD is not an InvenTree source tree (no $project/manage.py)" >&2
  exit 1
}

if [ -n "${FRONTEND:-}" ]; then
  web=$project/web/static/web
  rm -rf "$web"
  mkdir -p "$(dirname "$web")"
  cp -r "$FRONTEND" "$web"
  chmod -R u+w "$web"
fi

# The packager's record, read by settings (dotenv) and by the patched version.py/tasks.py/config.py:
# the commit, and "NIX" as the installer.
echo "$COMMIT" >commit_hash.txt
{
  echo "INVENTREE_COMMIT_HASH=$COMMIT"
  echo "INVENTREE_PKG_INSTALLER=NIX"
} >VERSION
if [ -n "${COMMIT_DATE:-}" ]; then
  echo "$COMMIT_DATE" >commit_date.txt
  echo "INVENTREE_COMMIT_DATE=$COMMIT_DATE" >>VERSION
fi

# Django's management commands need a configuration; give them a throwaway one (nothing of it
# stays but the static files).
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(
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
  cd "$project"
  "$python" manage.py compilemessages --verbosity 0
  "$python" manage.py collectstatic --no-input --verbosity 0
)

# Bytecode next to the sources: the store is read-only, so Python could not cache it at run time.
# Hash-based, as store timestamps are all 1970.
"$python" -m compileall -q --invalidation-mode unchecked-hash "$project" tasks.py

# The layout of the package this one replaces kept the source tree in $out/src; keep its project
# root path, ${src}/src/src/backend/InvenTree, working (a sibling link, so no directory loop).
mkdir -p src/src
ln -sfn ../backend src/src/backend
