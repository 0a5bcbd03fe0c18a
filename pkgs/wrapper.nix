# `inventree-<subcommand>`: exec the runtime program's subcommand with the
# InvenTree Python environment. Nothing else is baked in: the module (or the
# caller) sets INVENTREE_CONFIG_FILE and friends; INVENTREE_SRC defaults to
# this package set's source only when unset.
{
  lib,
  runCommand,
  runtimeShell,
  python,
  runtime,
  src,
  release,
}:
subcommand:
runCommand "inventree-${subcommand}-${release.version}"
  {
    meta = {
      description = "InvenTree ${release.version}: `inventree_runtime ${subcommand}`";
      mainProgram = "inventree-${subcommand}";
      license = lib.licenses.mit;
      platforms = lib.platforms.linux;
    };
    passthru = { inherit subcommand; };
  }
  ''
    mkdir -p $out/bin
    cat > $out/bin/inventree-${subcommand} <<'EOF'
    #!${runtimeShell}
    export PYTHONPATH=${runtime}''${PYTHONPATH:+:$PYTHONPATH}
    export INVENTREE_SRC=''${INVENTREE_SRC:-${src}}
    exec ${python}/bin/python -m inventree_runtime ${subcommand} "$@"
    EOF
    chmod +x $out/bin/inventree-${subcommand}
  ''
