"""The setup step, run before the server and the worker start.

Order (docs/ARCHITECTURE.md): check every secret and password file is
readable, and refuse a source tree older than the InvenTree that set the
database up, before writing anything; install config.yaml; ensure the
secret key; ensure the configured directories; migrate when the recorded
state says so (state.py), storing InvenTree's global settings defaults and
applying the users in the same Django process; deploy static files; apply
the declared users when they changed. Each step reports one line, and each
is a no-op when already done: with nothing changed, no Django starts.
"""

from __future__ import annotations

import os
import pwd
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from . import django_manage, static, users
from .config_install import install_config
from .database_guard import guard as guard_database
from .credentials import read_secret_file
from .environment import SetupPaths, Source, configured_dirs, parse_config
from .errors import RuntimeFailure
from .secret import create_key_file
from .state import (
    SetupState,
    compare,
    database_config_digest,
    migrations_digest,
    read_state,
    sha256,
    users_digest,
    write_state,
)
from .versions import InvenTreeVersion, downgrade_refusal, read_api_version

USERS_PROGRAM = "inventree_runtime.users_apply"


@dataclass(frozen=True)
class Inputs:
    """What setup read and validated before changing anything."""

    config_text: bytes
    config: dict
    declaration: users.Declaration | None
    # The users file as read, and the passwords it names (for the state's digest).
    users_text: bytes | None = None
    passwords: Mapping[str, str] = field(default_factory=dict)


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
    declaration = users_text = passwords = None
    if paths.users_file is not None:
        users_text = attempt(lambda: read_bytes(paths.users_file, "the users file"))
        declaration = attempt(lambda: users.load_declaration(paths.users_file)) if users_text is not None else None
        if declaration is not None:
            passwords = attempt(lambda: users.read_passwords(declaration, paths.credentials_dir))
    if problems:
        raise RuntimeFailure("setup stopped before changing anything:\n  " + "\n  ".join(problems))
    return Inputs(config_text, config, declaration, users_text, passwords or {})


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
    """Create the configured directories that are missing; fail, naming it, on one this process
    may not write (uploads, thumbnails, printed labels and backups would fail later, one request
    at a time, while everything looked healthy). Nothing is written before this check."""
    created = []
    for key, directory in dirs.items():
        if not directory.is_dir():
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise RuntimeFailure(f"cannot create {key} {directory}: {err.strerror}") from None
            created.append(f"{key} {directory}")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise RuntimeFailure(
                f"{key} {directory} is not writable by {current_user()}: give it back to the "
                f"service (e.g. chown -R {current_user()}: {directory}; chmod u+rwx {directory}). "
                "Nothing was changed in it or in the database"
            )
    return created


def current_user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


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


def recorded_version(recorded: SetupState) -> InvenTreeVersion:
    api = recorded.api_version
    return InvenTreeVersion(recorded.inventree_version, int(api) if api.isdigit() else None)


def refuse_downgrade(recorded: SetupState | None, tree: InvenTreeVersion) -> None:
    """Stop, before anything is written, when the tree is older than the InvenTree that set the database up."""
    if recorded is None:
        return
    refusal = downgrade_refusal(recorded_version(recorded), tree)
    if refusal:
        raise RuntimeFailure("setup refused: " + refusal)


def secret_key(paths: SetupPaths, env: Mapping[str, str]) -> bytes:
    """The Django secret key (keys the users digest)."""
    if paths.secret_key_in_env:
        return env["INVENTREE_SECRET_KEY"].encode()
    return read_secret_file(paths.secret_key_file, "secret key file").encode()


def desired_state(paths: SetupPaths, inputs: Inputs, env: Mapping[str, str], tree: InvenTreeVersion) -> SetupState:
    """The state a setup for this environment records once it is complete."""
    users_sha256 = ""
    if inputs.users_text is not None:
        users_sha256 = users_digest(inputs.users_text, inputs.passwords, secret_key(paths, env))
    return SetupState(
        inventree_version=tree.software,
        api_version="" if tree.api is None else str(tree.api),
        source=str(paths.source.root.resolve()),
        migrations_sha256=migrations_digest(paths.source.backend_dir),
        database_config_sha256=database_config_digest(inputs.config, env),
        config_sha256=sha256(inputs.config_text),
        users_sha256=users_sha256,
    )


def wants_users(declaration: users.Declaration | None) -> bool:
    return declaration is not None and bool(
        declaration.users or declaration.undeclared != "keep" or declaration.plugin_settings
    )


def timed(report: Callable[[str], None], action: Callable[[], str]) -> None:
    """Run a step and report its line with how long it took."""
    began = time.monotonic()
    line = action()
    report(f"{line} ({time.monotonic() - began:.1f} s)")


def run(env: MutableMapping[str, str], report: Callable[[str], None] = print) -> None:
    started = time.monotonic()
    paths = SetupPaths.from_env(env)
    inputs = preflight(paths, env)
    tree = InvenTreeVersion(paths.source.version(), read_api_version(paths.source.backend_dir))
    recorded = read_state(paths.state_file)
    refuse_downgrade(recorded, tree)

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

    desired = desired_state(paths, inputs, env, tree)
    pending = compare(desired, recorded)
    users_wanted = wants_users(inputs.declaration)
    users_done = not pending.users_changed
    if pending.migrate:
        report(f"migrations: running (changed: {', '.join(pending.migrate_reasons)})")

        def migrate() -> str:
            # An empty database while the data dir shows an earlier instance: refuse (see
            # database_guard) before anything is written.
            guard_database(inputs.config, env, paths.data_dir, paths.source)
            # Users in the same Django process: no second start on a first setup or an upgrade.
            django_manage.migrate(paths.source, env, apply_users=users_wanted)
            return "migrations: applied"

        timed(report, migrate)
        users_done = users_wanted or users_done
        # Recorded now: a failure further on does not migrate again.
        write_state(paths.state_file, desired if users_done else desired.with_users_of(recorded))
    else:
        report("migrations: skipped (version, source, migration files and database config unchanged)")

    timed(report, lambda: deploy_static(paths, dirs.get("static_root"), tree.software, env))

    if not users_done:
        if users_wanted:
            timed(report, lambda: apply_users(paths, env))
        else:
            # Nothing to apply: spare the start of a Django process.
            report("users: none declared")
    elif not pending.migrate:
        report("users: unchanged (users file and passwords as last applied)")
    if desired != recorded:
        write_state(paths.state_file, desired)
    report(f"setup: complete in {time.monotonic() - started:.1f} s")


def apply_users(paths: SetupPaths, env) -> str:
    """Run the users step in its own Django process; it prints one line per user itself."""
    django_manage.run_module(paths.source, USERS_PROGRAM, env)
    return "users: applied"


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

