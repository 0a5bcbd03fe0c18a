# The uv workspace of InvenTree plugins (`pluginWorkspace`: a directory with `pyproject.toml` and
# `uv.lock`, as `uv lock` leaves it), loaded through uv2nix; null when no plugins are declared.
{
  lib,
  uv2nix,
  pluginWorkspace,
}:
if pluginWorkspace == null then
  null
# Said here too, not only by the module's assertion: whatever forces the Python environment first
# (a unit's PATH) would otherwise stop at a file set error.
else if !builtins.pathExists (pluginWorkspace + "/uv.lock") then
  throw "services.inventree.pluginWorkspace = ${toString pluginWorkspace} has no uv.lock: run `uv lock` in that directory (next to its pyproject.toml) and add the file."
else
  uv2nix.lib.workspace.loadWorkspace {
    # Only the two files uv2nix reads, so editing anything else beside them (a README, the
    # overrides file) does not change the Python environment.
    workspaceRoot = lib.fileset.toSource {
      root = pluginWorkspace;
      fileset = lib.fileset.unions [
        (pluginWorkspace + "/pyproject.toml")
        (pluginWorkspace + "/uv.lock")
      ];
    };
  }
