"""The setup step, run before the server and the worker start.

Order (docs/ARCHITECTURE.md): check every secret and password file is
readable, before writing anything; install config.yaml; ensure the secret
key; ensure the configured directories; migrate when needed, then store
InvenTree's global settings defaults; deploy static files; apply the
declared users. Each step reports one line, and each is a
no-op when already done, so a second run changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

from . import django_manage, static, users
from .config_install import install_config
from .database_guard import guard as guard_database
from .credentials import read_secret_file
from .environment import SetupPaths, Source, configured_dirs, parse_config
from .errors import RuntimeFailure
from .secret import create_key_file
from .state import SetupState, decide_migrations, read_state, write_state
from .users_apply import CHECK_MIGRATIONS_FLAG, PENDING_STATUS

USERS_PROGRAM = "inventree_runtime.users_apply"
SETTINGS_PROGRAM = "inventree_runtime.settings_defaults"


@dataclass(frozen=True)
class Inputs:
    """What setup read and validated before changing anything."""

    config_text: bytes
    config: dict
    declaration: users.Declaration | None


def preflight(paths: SetupPaths, env: Mapping[str, str]) -> Inputs:
    """Read and validate every input; raise naming *all* unreadable files at once."""
    problems: list[str] = []

    def attempt(action: Callable[[], object]) -> object:
        try:
            return action()
        except RuntimeFailure as failure:
            problems.append(str(failure))
            return None

    config_text = attempt(lambda: read_bytes(paths.config_source, "the rendered config"))
    config = attempt(lambda: parse_config(config_text.decode("utf-8"), paths.config_source)) if config_text else None
    if "INVENTREE_SECRET_KEY" in env and not paths.secret_key_in_env:
        problems.append("the secret key INVENTREE_SECRET_KEY is empty")
    if not paths.secret_key_is_generated and not paths.secret_key_in_env:
        attempt(lambda: nonempty(read_secret_file(paths.secret_key_file, "secret key file"), paths.secret_key_file))
    declaration = None
    if paths.users_file is not None:
        declaration = attempt(lambda: users.load_declaration(paths.users_file))
        if declaration is not None:
            attempt(lambda: users.read_passwords(declaration, paths.credentials_dir))
    if problems:
        raise RuntimeFailure("setup stopped before changing anything:\n  " + "\n  ".join(problems))
    return Inputs(config_text=config_text, config=config, declaration=declaration)


def read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise RuntimeFailure(f"{what} {path} cannot be read: {err.strerror}") from None


def nonempty(value: str, path: Path) -> str:
    if not value.strip():
        raise RuntimeFailure(f"secret key file {path} is empty")
    return value


def ensure_directories(dirs: dict[str, Path]) -> list[str]:
    created = []
    for key, directory in dirs.items():
        if not directory.is_dir():
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise RuntimeFailure(f"cannot create {key} {directory}: {err.strerror}") from None
            created.append(f"{key} {directory}")
    return created


def deploy_static(paths: SetupPaths, static_root: Path | None, version: str, env) -> str:
    if static_root is None:
        return "static: skipped (no static_root configured)"
    if paths.static_source is not None:
        return static.deploy_copy(paths.static_source, static_root)
    identity = f"collectstatic {paths.source.root.resolve()} {version}"
    if static.deployed_marker(static_root) == identity:
        return "static: unchanged (collected before for this source)"
    # InvenTree's `invoke static`: collect, then the plugins' static files.
    django_manage.run_manage(paths.source, ["collectstatic", "--noinput", "--clear", "-v", "0"], env)
    django_manage.run_manage(paths.source, ["collectplugins", "-v", "0"], env)
    static.write_marker(static_root, identity)
    return "static: collected"


def apply_users(paths: SetupPaths, env, check_migrations: bool = False) -> bool:
    """Run the users step in its own Django process; it prints one line per user itself.

    With `check_migrations` it first looks for unapplied migrations and, when
    there are some, applies nothing and returns False.
    """
    args = [CHECK_MIGRATIONS_FLAG] if check_migrations else []
    result = django_manage.run_module(paths.source, USERS_PROGRAM, env, args, ok_statuses=(0, PENDING_STATUS))
    return result.returncode != PENDING_STATUS


def run(env: MutableMapping[str, str], report: Callable[[str], None] = print) -> None:
    started = time.monotonic()
    paths = SetupPaths.from_env(env)
    inputs = preflight(paths, env)
    version = paths.source.version()

    paths.data_dir.mkdir(parents=True, exist_ok=True)
    changed = install_config(paths.config_source, paths.config_file)
    report(f"config: {'installed' if changed else 'unchanged'} {paths.config_file}")

    if paths.secret_key_in_env:
        report("secret key: from INVENTREE_SECRET_KEY")
    elif paths.secret_key_is_generated:
        created = create_key_file(paths.secret_key_file)
        report(f"secret key: {'generated' if created else 'present'} {paths.secret_key_file}")
    else:
        report(f"secret key: from {paths.secret_key_file}")

    dirs = configured_dirs(inputs.config, env)
    for line in ensure_directories(dirs):
        report(f"directory: created {line}")

    desired = SetupState.of(version, paths.source.root.resolve(), inputs.config_text)
    recorded = read_state(paths.state_file)
    declaration = inputs.declaration
    wants_users = declaration is not None and bool(declaration.users or declaration.undeclared != "keep")

    def migrate(reason: str) -> None:
        guard_database(inputs.config, env, paths.data_dir, paths.source)
        report(f"migrations: running ({reason})")
        began = time.monotonic()
        django_manage.migrate(paths.source, env, report)
        # Before anyone logs in: see settings_defaults for the first login it saves.
        django_manage.run_module(paths.source, SETTINGS_PROGRAM, env)
        report(f"migrations: done in {time.monotonic() - began:.1f} s")

    # With the state unchanged and users to apply, the users program checks for
    # unapplied migrations itself: one Django start instead of two on a warm start.
    # Its "migrations: skipped" line then follows the users' lines.
    check_in_users_step = wants_users and not desired.changes_from(recorded)
    if not check_in_users_step:
        decision = decide_migrations(desired, recorded, lambda: django_manage.migrations_pending(paths.source, env))
        if decision.migrate:
            migrate(decision.reason)
        else:
            report(f"migrations: skipped ({decision.reason})")
    if recorded != desired:
        write_state(paths.state_file, desired)

    report(deploy_static(paths, dirs.get("static_root"), version, env))

    if wants_users:
        if apply_users(paths, env, check_migrations=check_in_users_step):
            if check_in_users_step:
                report("migrations: skipped (state unchanged and no unapplied migrations)")
        else:
            migrate("unapplied migrations in the database")
            apply_users(paths, env, check_migrations=False)
    else:
        # Nothing to apply: spare the start of a Django process.
        report("users: none declared")
    report(f"setup: complete in {time.monotonic() - started:.1f} s")


def refresh_users(env: MutableMapping[str, str]) -> None:
    """The `refresh-users` subcommand: validate, then apply the users file."""
    users_file = env.get("INVENTREE_USERS_FILE", "").strip()
    if not users_file:
        raise RuntimeFailure("INVENTREE_USERS_FILE is not set: it must name the declared users (JSON)")
    declaration = users.load_declaration(Path(users_file))
    credentials = env.get("CREDENTIALS_DIRECTORY")
    users.read_passwords(declaration, Path(credentials) if credentials else None)
    source = Source.from_env(env)
    django_manage.run_module(source, USERS_PROGRAM, env)

