# The Python package set of InvenTree's backend: every package pinned in
# uv.lock (through uv2nix), built with Python 3.13, prebuilt wheels preferred.
{
  lib,
  callPackage,
  python313,
  pyproject-nix,
  pyproject-build-systems,
  workspace,
}:
(callPackage pyproject-nix.build.packages { python = python313; }).overrideScope (
  lib.composeManyExtensions [
    pyproject-build-systems.overlays.wheel
    (workspace.mkPyprojectOverlay { sourcePreference = "wheel"; })
    (callPackage ./python-overrides.nix { })
  ]
)
