"""The long-running and pass-through subcommands: each replaces this process.

exec (not a child process) so that systemd supervises gunicorn / qcluster
directly: signals, exit status and the main PID are theirs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from .environment import Source, child_env
from .errors import RuntimeFailure


def server_argv(source: Source, args: Sequence[str]) -> list[str]:
    """gunicorn on InvenTree.wsgi with InvenTree's gunicorn.conf.py, as upstream's Procfile.

    Run as `python -m gunicorn`: InvenTree recognises the server process by
    "gunicorn" in sys.argv[0], which is then gunicorn's __main__.py. Arguments
    given here (bind, workers, timeout) override the config file's.
    """
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(source.gunicorn_conf),
        "--chdir",
        str(source.backend_dir),
        *args,
        "InvenTree.wsgi",
    ]


def cluster_argv(source: Source) -> list[str]:
    return [sys.executable, str(source.manage_py), "qcluster"]


def manage_argv(source: Source, args: Sequence[str]) -> list[str]:
    return [sys.executable, str(source.manage_py), *args]


def invoke_argv(source: Source, args: Sequence[str], prefix: str | None = None) -> list[str]:
    """InvenTree's tasks.py through invoke, found from the source root (its cwd).

    The environment's own `bin/invoke` script when there is one: tasks.py
    warns (INVE-W9) unless sys.argv[0] is `<sys.prefix>/bin/invoke`.
    """
    script = os.path.join(sys.prefix if prefix is None else prefix, "bin", "invoke")
    program = [script] if os.access(script, os.X_OK) else [sys.executable, "-m", "invoke"]
    return [*program, "--search-root", str(source.root), *args]


def exec_in(cwd: os.PathLike, argv: list[str], env: Mapping[str, str]) -> None:
    try:
        os.chdir(cwd)
    except OSError as err:
        raise RuntimeFailure(f"cannot enter {cwd}: {err.strerror}") from None
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(argv[0], argv, child_env(env, sys.executable))
    except OSError as err:
        raise RuntimeFailure(f"cannot run {' '.join(argv)}: {err.strerror}") from None


def server(env: Mapping[str, str], args: Sequence[str]) -> None:
    source = Source.from_env(env)
    exec_in(source.backend_dir, server_argv(source, args), env)


def cluster(env: Mapping[str, str]) -> None:
    source = Source.from_env(env)
    exec_in(source.backend_dir, cluster_argv(source), env)


def manage(env: Mapping[str, str], args: Sequence[str]) -> None:
    source = Source.from_env(env)
    exec_in(source.backend_dir, manage_argv(source, args), env)


def invoke(env: Mapping[str, str], args: Sequence[str]) -> None:
    source = Source.from_env(env)
    exec_in(source.root, invoke_argv(source, args), env)
