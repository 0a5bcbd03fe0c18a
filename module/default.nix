# The NixOS module `services.inventree`, one file per concern. It replaces nixpkgs' own,
# different `services.inventree` module (present since 2026) and works just as well with a
# nixpkgs that lacks it. The flake's `nixosModules.default` imports this and sets
# `services.inventree.packages` to the flake's package scope.
{
  disabledModules = [ "services/misc/inventree.nix" ];

  imports = [
    ./options.nix
    ./internal.nix
    ./config.nix
    ./services.nix
    ./setup.nix
    ./users.nix
    ./database.nix
    ./cache.nix
    ./proxy.nix
    ./backup.nix
    ./firewall.nix
    ./admin.nix
    ./validation.nix
    ./compat/seed-flake.nix
    ./compat/nixpkgs.nix
  ];
}
