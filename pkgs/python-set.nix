# The Python package set of InvenTree's backend: every package pinned in
# uv.lock (through uv2nix), built with Python 3.13, prebuilt wheels preferred.
# With plugins, their workspace's packages join it: layered below InvenTree's
# own lock, so a package both pin is InvenTree's version (a plugin runs inside
# InvenTree's Django, not the other way round); the plugins' build fixes
# (`pluginOverrides`) come last.
{
  lib,
  callPackage,
  python313,
  pyproject-nix,
  pyproject-build-systems,
  workspace,
  plugin-workspace,
  pluginOverrides,
}:
(callPackage pyproject-nix.build.packages { python = python313; }).overrideScope (
  lib.composeManyExtensions (
    [ pyproject-build-systems.overlays.wheel ]
    ++ lib.optional (plugin-workspace != null) (
      plugin-workspace.mkPyprojectOverlay { sourcePreference = "wheel"; }
    )
    ++ [
      (workspace.mkPyprojectOverlay { sourcePreference = "wheel"; })
      (callPackage ./python-overrides.nix { })
    ]
    ++ lib.optional (pluginOverrides != null) (import pluginOverrides)
  )
)
