# The option declarations of services.inventree as data for docs/options.md
# (scripts/gen-options-doc renders it). Evaluates the module in a minimal NixOS system; nothing
# is built, and no package scope is needed: only the declarations are read (the `packages`
# option documents its default with defaultText). Declaration paths are made relative to the
# repository.
{ nixpkgs }:
let
  system = import (nixpkgs + "/nixos/lib/eval-config.nix") {
    system = "x86_64-linux";
    modules = [
      ../default.nix
      { system.stateVersion = "26.05"; }
    ];
  };
  inherit (system.pkgs) lib;
  repoRoot = toString ../..;
  docs = lib.optionAttrSetToDocList system.options.services.inventree;
in
map (
  o:
  {
    inherit (o)
      name
      description
      type
      readOnly
      ;
    declarations = map (d: lib.removePrefix "${repoRoot}/" (toString d)) o.declarations;
  }
  // lib.optionalAttrs (o ? default) { inherit (o) default; }
  // lib.optionalAttrs (o ? example) { inherit (o) example; }
) (lib.filter (o: o.visible && !o.internal) docs)
