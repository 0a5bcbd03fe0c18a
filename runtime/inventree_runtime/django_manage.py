"""Running Django's manage.py, and our Django programs, as subprocesses.

Setup talks to Django only through subprocesses: each starts with the argv
InvenTree expects (its ready() hooks look at sys.argv to know whether it is
migrating, collecting static files, ...), and this package stays importable
without Django.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence

from .environment import Source, child_env
from .errors import RuntimeFailure
from .schema_migrate import APPLY_USERS_FLAG, NEWER_DATABASE_STATUS

# A migration of a large database can take long; anything beyond this is a hang.
DEFAULT_TIMEOUT = 6 * 3600
OUTPUT_TAIL = 4000


def manage_argv(source: Source, args: Sequence[str]) -> list[str]:
    return [sys.executable, str(source.manage_py), *args]


def run_manage(
    source: Source,
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    capture: bool = False,
    check: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> subprocess.CompletedProcess:
    """Run `manage.py args` in the backend directory.

    Output goes to our stdout/stderr (the journal) unless `capture`; a failure
    names the command and, when captured, shows the end of its output.
    """
    return _run(
        manage_argv(source, args), "manage.py " + " ".join(args), source, env, capture=capture, check=check, timeout=timeout
    )


def run_module(
    source: Source,
    module: str,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    ok_statuses: Sequence[int] = (0,),
) -> subprocess.CompletedProcess:
    """Run `python -m module args` in the backend directory (a Django program of ours)."""
    shown = " ".join(["python -m", module, *args])
    result = _run([sys.executable, "-m", module, *args], shown, source, env, check=False)
    if result.returncode not in ok_statuses:
        raise RuntimeFailure(f"`{shown}` failed with status {result.returncode}")
    return result


def _run(
    argv: list[str],
    shown: str,
    source: Source,
    env: Mapping[str, str] | None,
    *,
    capture: bool = False,
    check: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(
            argv,
            cwd=source.backend_dir,
            env=child_env(env if env is not None else os.environ, sys.executable),
            stdin=subprocess.DEVNULL,
            capture_output=capture,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeFailure(f"`{shown}` did not finish within {timeout:.0f} s") from None
    except OSError as err:
        raise RuntimeFailure(f"cannot run `{shown}`: {err.strerror}") from None
    if check and result.returncode != 0:
        detail = ""
        if capture:
            detail = ":\n" + ((result.stdout or "") + (result.stderr or ""))[-OUTPUT_TAIL:]
        raise RuntimeFailure(f"`{shown}` failed with status {result.returncode}{detail}")
    return result


MIGRATE_PROGRAM = "inventree_runtime.schema_migrate"


def migrate(source: Source, env: Mapping[str, str] | None = None, apply_users: bool = False) -> None:
    """InvenTree's migration sequence and the settings defaults (and the users) in one Django process.

    See schema_migrate; its output (one timed line per step) goes to the journal.
    """
    args = [APPLY_USERS_FLAG] if apply_users else []
    result = run_module(source, MIGRATE_PROGRAM, env, args, ok_statuses=(0, NEWER_DATABASE_STATUS))
    if result.returncode == NEWER_DATABASE_STATUS:
        raise RuntimeFailure(
            "the database was migrated by a newer InvenTree than this source tree (its migrations are "
            "named above); refusing to run an older InvenTree on it. Nothing was changed."
        )
