# The `pkgs.inventree` package scope: InvenTree and everything the NixOS
# module runs. Every member is overridable, e.g.
#   pkgs.inventree.overrideScope (final: _prev: { frontend = final.frontend-from-source; })
# builds the web frontend from source instead of using the release's zip.
{
  lib,
  newScope,
  pyproject-nix,
  uv2nix,
  pyproject-build-systems,
}:
lib.makeScope newScope (
  self:
  let
    inherit (self) callPackage;
    # One wrapper per runtime subcommand, named inventree-<subcommand>.
    wrapper = callPackage ./wrapper.nix { };
  in
  {
    inherit pyproject-nix uv2nix pyproject-build-systems;

    # Version, tag commit and fixed-output hashes of the pinned release: data
    # only, rewritten by `inventree-harness bump`.
    release = lib.importJSON ./version.json;
    inherit (self.release) version;

    upstream-source = callPackage ./upstream-source.nix { };
    frontend = callPackage ./frontend.nix { };
    frontend-from-source = callPackage ./frontend-from-source.nix { };
    src = callPackage ./src.nix { };

    workspace = callPackage ./workspace.nix { };
    # Plugins (module options `pluginWorkspace`, `pluginOverrides`): a uv workspace whose
    # default dependencies join the Python environment, and an overlay (`final: prev: { … }`)
    # of build fixes for them. Null: InvenTree alone.
    pluginWorkspace = null;
    pluginOverrides = null;
    plugin-workspace = callPackage ./plugin-workspace.nix { };
    python-set = callPackage ./python-set.nix { };
    python = callPackage ./python.nix { };
    venv = callPackage ./venv.nix { };

    runtime = callPackage ./runtime.nix { };
    server = wrapper "server";
    cluster = wrapper "cluster";
    setup = wrapper "setup";
    invoke = wrapper "invoke";
    manage = wrapper "manage";
    refresh-users = wrapper "refresh-users";
    gen-secret = wrapper "gen-secret";
    setup-check = wrapper "setup-check";
    wait-for-db = wrapper "wait-for-db";
    restore = wrapper "restore";

    harness = callPackage ./harness.nix { };
  }
)
