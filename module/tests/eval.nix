# Evaluate a NixOS system with the module and the stub package scope (no flake needed):
#   nix eval --impure --expr 'import ./module/tests/eval.nix {
#     nixpkgs = <path to nixpkgs>; configuration = ./module/tests/cases/defaults.nix; }' ...
# Returns the evaluated system (`config`, `options`, `config.system.build.toplevel`).
{
  nixpkgs,
  configuration ? { },
  packages ? null,
}:
import (nixpkgs + "/nixos/lib/eval-config.nix") {
  system = "x86_64-linux";
  modules = [
    ../default.nix
    configuration
    (
      { pkgs, lib, ... }:
      {
        # The bare minimum for a system toplevel to evaluate.
        boot.loader.grub.enable = false;
        fileSystems."/" = {
          device = "/dev/disk/by-label/nixos";
          fsType = "ext4";
        };
        system.stateVersion = "26.05";
        services.inventree.packages = lib.mkDefault (
          if packages != null then packages else import ./stub-packages.nix { inherit pkgs; }
        );
      }
    )
  ];
}
