# The NixOS VM tests of nixos-inventree, one per scenario file, for the flake's `checks`.
#
# Every `*.nix` file of this directory except the shared ones below is a scenario: a NixOS test
# module (as in nixpkgs' nixos/tests) that may take the module argument `inventree` (from lib.nix:
# `testScript`, `secrets`, `admin`, `harness`). Adding a file adds a check named after it; nothing
# here has to be edited.
{
  pkgs,
  self,
  lib ? pkgs.lib,
}:
let
  vmLib = import ./lib.nix { inherit pkgs lib self; };

  sharedFiles = [
    "default.nix"
    "lib.nix"
  ];

  isScenario =
    file: type: type == "regular" && lib.hasSuffix ".nix" file && !(lib.elem file sharedFiles);

  scenarioFiles = lib.attrNames (lib.filterAttrs isScenario (builtins.readDir ./.));
in
lib.listToAttrs (
  map (
    file:
    let
      name = lib.removeSuffix ".nix" file;
    in
    lib.nameValuePair name (vmLib.mkTest name (./. + "/${file}"))
  ) scenarioFiles
)
