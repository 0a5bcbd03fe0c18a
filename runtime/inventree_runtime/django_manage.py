"""Running Django's manage.py as a subprocess.

Setup talks to Django only through manage.py: each command starts with
the argv InvenTree expects (its ready() hooks look at sys.argv to know
whether it is migrating, collecting static files, ...), and this package
stays importable without Django.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

from .environment import Source, child_env
from .errors import RuntimeFailure

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


def migrations_pending(source: Source, env: Mapping[str, str] | None = None) -> bool:
    """True when the database has unapplied migrations (`migrate --check` exits 1).

    Django's check is read-only; it still fails loudly (status other than
    0/1, or a traceback) when the database is unreachable.
    """
    result = run_manage(source, ["migrate", "--check", "--noinput", "-v", "0"], env, capture=True, check=False)
    if result.returncode == 0:
        return False
    output = (result.stdout or "") + (result.stderr or "")
    if result.returncode == 1 and "Traceback" not in output:
        return True
    raise RuntimeFailure(
        f"`manage.py migrate --check` failed with status {result.returncode}:\n{output[-OUTPUT_TAIL:]}"
    )


# InvenTree's own migration sequence (tasks.py `migrate` and its post tasks),
# without `makemigrations` (the source is read-only; a release ships its
# migrations) and without `runmigrations`: as a command it is a no-op, because
# check_for_migrations() returns at once when "runmigrations" is in sys.argv
# (measured: 9 s of Django start-up, no migration applied). `migrate
# --run-syncdb` applies everything and fails loudly when it cannot.
MIGRATION_STEPS = (
    ("migrate", "--run-syncdb", "--noinput"),
    ("remove_stale_contenttypes", "--include-stale-apps", "--no-input"),
    ("rebuild_models",),
    ("rebuild_thumbnails",),
)


def migrate(source: Source, env: Mapping[str, str] | None = None, report=lambda line: None) -> None:
    for step in MIGRATION_STEPS:
        began = time.monotonic()
        run_manage(source, [*step, "-v", "1"], env)
        report(f"migrations: {step[0]} took {time.monotonic() - began:.1f} s")
