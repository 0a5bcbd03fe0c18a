# The repository's runtime program (`python -m inventree_runtime`), the one
# program the units run: setup, users, server, cluster, manage, invoke.
# Stdlib-only Python; it runs with the `python` environment as interpreter.
{
  lib,
  stdenvNoCC,
  python,
  release,
}:
let
  root = ../.;
in
stdenvNoCC.mkDerivation {
  pname = "inventree-runtime";
  inherit (release) version;

  # The package's Python files only (its tests live beside it, in
  # runtime/tests). A checkout without the package still evaluates; the
  # build then fails below, naming what is missing.
  src =
    let
      package = root + "/runtime/inventree_runtime";
    in
    lib.fileset.toSource {
      inherit root;
      fileset =
        if builtins.pathExists package then
          lib.fileset.fileFilter (file: file.hasExt "py") package
        else
          lib.fileset.unions [ ];
    };

  nativeBuildInputs = [ python ];

  dontConfigure = true;
  dontBuild = true;

  installPhase = ''
    runHook preInstall
    if [ ! -f runtime/inventree_runtime/__main__.py ]; then
      echo "runtime/inventree_runtime/__main__.py is missing from the repository" >&2
      exit 1
    fi
    mkdir -p $out
    cp -r runtime/inventree_runtime $out/
    python -m compileall -q --invalidation-mode unchecked-hash $out/inventree_runtime
    runHook postInstall
  '';

  meta = {
    description = "The program that sets up and runs InvenTree as the NixOS module configures it";
    license = lib.licenses.mit;
    platforms = lib.platforms.all;
  };
}
