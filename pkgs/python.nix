# A Python 3.13 environment with every backend dependency of InvenTree:
# `${python}/bin/python` runs manage.py, gunicorn, qcluster and invoke. With
# plugins (`pluginWorkspace`), the workspace's default dependencies too.
{
  lib,
  python-set,
  workspace,
  plugin-workspace,
  release,
}:
let
  dependencies =
    workspace.deps.default
    // lib.optionalAttrs (plugin-workspace != null) plugin-workspace.deps.default;
in
(python-set.mkVirtualEnv "inventree-python-${release.version}" dependencies).overrideAttrs (old: {
  meta = (old.meta or { }) // {
    description = "Python environment with the dependencies of InvenTree ${release.version}";
    mainProgram = "python";
  };
})
