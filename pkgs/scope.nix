# The `pkgs.inventree` package scope. Every member is overridable with
# `pkgs.inventree.overrideScope (final: prev: { ... })`.
{
  lib,
  newScope,
  pyproject-nix,
  uv2nix,
  pyproject-build-systems,
}:
lib.makeScope newScope (self: {
  harness = self.callPackage ./harness.nix { };
})
