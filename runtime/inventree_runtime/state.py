"""The setup state file, and what it says is left to do.

`$INVENTREE_DATA_DIR/.setup-state.json` records what the last successful
setup was for. When nothing it records changed, setup starts no Django
process at all, which keeps a restart fast:

- the schema: InvenTree version (and API version), source path, the
  migration files on disk, and the part of the config that decides which
  database and which apps (`schema_config`). A change in any of them runs
  the migrate sequence.
- the installed config as a whole: a change that leaves the schema part
  alone (an SMTP host) is installed without migrating.
- the users: the users file and the content of the password credentials
  it names, as an HMAC keyed with the secret key (no password is stored,
  and the digest cannot be checked against guesses without the key). A
  change applies the users again.

Whoever changes the database behind setup's back (a restore) must remove
the state file, so that the next setup migrates.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from .config_install import atomic_write
from .errors import RuntimeFailure

STATE_MODE = 0o640

# Top-level config keys that change neither the database nor its schema nor
# stored data: changing only these installs the config without migrating.
# Anything else (database, plugins, media_root, debug_silk which adds an app
# with migrations, keys this list does not know) runs the migrate sequence.
SCHEMA_NEUTRAL_KEYS = frozenset(
    {
        "allowed_hosts",
        "auto_update",
        "background",
        "backup_dir",
        "cache",
        "console_log",
        "cors",
        "db_logging",
        "debug",
        "debug_querycount",
        "debug_shell",
        "email",
        "global_settings",
        "json_log",
        "language",
        "log_level",
        "login_attempts",
        "login_confirm_days",
        "login_default_protocol",
        "oidc_private_key_file",
        "remote_login_enabled",
        "remote_login_header",
        "sentry_dsn",
        "sentry_enabled",
        "sentry_sample_rate",
        "site_url",
        "static_root",
        "timezone",
        "trusted_origins",
        "use_x_forwarded_host",
        "use_x_forwarded_port",
        "use_x_forwarded_proto",
        "write_log",
    }
)

# Global settings (config `global_settings`, otherwise neutral) that change the
# apps: with ENABLE_PLUGINS_APP on, plugins' apps (and their migrations) are
# installed.
SCHEMA_GLOBAL_SETTINGS = ("ENABLE_PLUGINS_APP",)

# Environment variables InvenTree prefers over the config that decide the
# database or the apps (passwords excluded: the same database either way).
SCHEMA_ENV_PREFIXES = ("INVENTREE_DB_", "INVENTREE_PLUGIN")
SCHEMA_ENV_NAMES = frozenset({"INVENTREE_MEDIA_ROOT"})

# Fields whose change means the database must be migrated, in report order.
SCHEMA_FIELDS = ("inventree_version", "api_version", "source", "migrations_sha256", "database_config_sha256")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def schema_config(config: Mapping, env: Mapping[str, str]) -> dict:
    """The part of the config (and its environment overrides) that decides the database and its apps."""
    relevant = {key: value for key, value in config.items() if key not in SCHEMA_NEUTRAL_KEYS}
    global_settings = config.get("global_settings")
    if isinstance(global_settings, Mapping):
        # Only when present, so a config without them digests as before (no migration for it).
        apps = {key: global_settings[key] for key in SCHEMA_GLOBAL_SETTINGS if key in global_settings}
        if apps:
            relevant["global_settings"] = apps
    overrides = {
        name: value
        for name, value in env.items()
        if (name in SCHEMA_ENV_NAMES or name.startswith(SCHEMA_ENV_PREFIXES)) and not name.endswith("PASSWORD")
    }
    return {"config": relevant, "environment": overrides}


def database_config_digest(config: Mapping, env: Mapping[str, str]) -> str:
    return sha256(json.dumps(schema_config(config, env), sort_keys=True).encode())


def migrations_digest(backend_dir: Path) -> str:
    """Hash of the names of every migration file of the tree (`<app>/.../migrations/<name>.py`).

    Names only: a release adds migrations as new files. A walk of the backend
    directory, cheap next to a Django start.
    """
    names = []
    for directory, subdirs, files in os.walk(backend_dir):
        subdirs[:] = [d for d in subdirs if d not in ("__pycache__", "node_modules")]
        if os.path.basename(directory) == "migrations":
            relative = os.path.relpath(directory, backend_dir)
            names.extend(f"{relative}/{name}" for name in files if name.endswith(".py"))
    return sha256("\n".join(sorted(names)).encode())


def users_digest(users_file: bytes, passwords: Mapping[str, str], key: bytes) -> str:
    """HMAC-SHA256 (keyed with the secret key) of the users file and each declared password."""
    mac = hmac.new(key, users_file, hashlib.sha256)
    for name in sorted(passwords):
        mac.update(b"\0" + name.encode() + b"\0" + passwords[name].encode())
    return mac.hexdigest()


@dataclass(frozen=True)
class SetupState:
    inventree_version: str
    api_version: str
    source: str
    migrations_sha256: str
    database_config_sha256: str
    config_sha256: str
    # "" when no users are declared.
    users_sha256: str

    def changes_from(self, recorded: SetupState | None) -> list[str]:
        """Names of the fields that differ from `recorded` (all of them when there is none)."""
        if recorded is None:
            return ["no previous setup"]
        mine, theirs = asdict(self), asdict(recorded)
        return [key for key in mine if mine[key] != theirs[key]]

    def with_users_of(self, recorded: SetupState | None) -> SetupState:
        """This state, but with the users recorded before (users not applied yet)."""
        return dataclasses.replace(self, users_sha256=recorded.users_sha256 if recorded else "-")


@dataclass(frozen=True)
class Pending:
    """What setup has left to do, from the recorded state to the desired one."""

    # Why the database must be migrated (changed schema fields); empty when it need not be.
    migrate_reasons: tuple[str, ...]
    config_changed: bool
    users_changed: bool

    @property
    def migrate(self) -> bool:
        return bool(self.migrate_reasons)

    @property
    def nothing(self) -> bool:
        """Setup completed before for exactly this version, source, config and users."""
        return not (self.migrate_reasons or self.config_changed or self.users_changed)


def compare(desired: SetupState, recorded: SetupState | None) -> Pending:
    """What a setup for `desired` must do, given what the last successful one `recorded`."""
    if recorded is None:
        return Pending(("no previous setup",), True, True)
    changed = desired.changes_from(recorded)
    return Pending(
        migrate_reasons=tuple(field for field in SCHEMA_FIELDS if field in changed),
        config_changed="config_sha256" in changed,
        users_changed="users_sha256" in changed,
    )


def read_state(path: Path) -> SetupState | None:
    """The recorded state, or None when there is none or it is unreadable as state.

    A damaged state file is not an error: it only means "do everything". A
    state written by an older setup lacks some fields: they read as "", which
    differs from anything setup records, so the missing parts are redone.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not data.get("inventree_version"):
            return None
        return SetupState(**{key: str(data.get(key, "")) for key in SetupState.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return None


def write_state(path: Path, state: SetupState) -> None:
    try:
        atomic_write(path, (json.dumps(asdict(state), indent=2, sort_keys=True) + "\n").encode(), STATE_MODE)
    except OSError as err:
        raise RuntimeFailure(f"cannot write the setup state {path}: {err.strerror}") from None
