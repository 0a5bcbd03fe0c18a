# A Python 3.13 environment with every backend dependency of InvenTree:
# `${python}/bin/python` runs manage.py, gunicorn, qcluster and invoke.
{
  python-set,
  workspace,
  release,
}:
(python-set.mkVirtualEnv "inventree-python-${release.version}" workspace.deps.default).overrideAttrs
  (old: {
    meta = (old.meta or { }) // {
      description = "Python environment with the dependencies of InvenTree ${release.version}";
      mainProgram = "python";
    };
  })
