# The development environment: the locked dependencies with every optional
# group of the workspace, plus uv (to change the lock) and ruff, in one
# virtualenv. `nix shell .#venv`, then run the runtime from a checkout with
# PYTHONPATH=runtime.
{
  lib,
  python-set,
  workspace,
  release,
  uv,
  ruff,
}:
(python-set.mkVirtualEnv "inventree-venv-${release.version}" workspace.deps.all).overrideAttrs
  (old: {
    postInstall = (old.postInstall or "") + ''
      ln -s ${lib.getExe uv} ${lib.getExe ruff} $out/bin/
    '';
    meta = (old.meta or { }) // {
      description = "Development environment for InvenTree ${release.version}: all locked dependencies, uv and ruff";
      mainProgram = "python";
    };
  })
