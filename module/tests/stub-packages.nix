# A stand-in for the flake's package scope, for evaluating the module before (or without) the
# real packages: every wrapper is a tiny script, `src` a directory with a `static` attribute.
# Used only by module/tests/eval.nix; never the module's default.
{ pkgs }:
let
  wrapper =
    sub:
    pkgs.writeShellScriptBin "inventree-${sub}" ''
      echo "stub inventree-${sub} $*"
    '';
  subcommands = [
    "server"
    "cluster"
    "invoke"
    "manage"
    "setup"
    "refresh-users"
    "gen-secret"
  ];
in
pkgs.lib.genAttrs subcommands wrapper
// {
  src = pkgs.runCommand "inventree-src-stub" { passthru.static = pkgs.emptyDirectory; } "mkdir $out";
  python = pkgs.python3;
  runtime = pkgs.emptyDirectory;
}
