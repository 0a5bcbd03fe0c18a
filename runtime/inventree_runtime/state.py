"""The setup state file, and the decision whether to migrate.

`$INVENTREE_DATA_DIR/.setup-state.json` records what the database was last
migrated for: the InvenTree version, the source path and a hash of the
config. Migrations run when any of these changed, or when Django reports
unapplied migrations (e.g. a restored backup); otherwise they are skipped,
which keeps a restart fast.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from .config_install import atomic_write
from .environment import Source
from .errors import RuntimeFailure

STATE_MODE = 0o640


@dataclass(frozen=True)
class SetupState:
    inventree_version: str
    source: str
    config_sha256: str

    @classmethod
    def of(cls, version: str, source: Path, config: bytes) -> SetupState:
        return cls(version, str(source), hashlib.sha256(config).hexdigest())

    def changes_from(self, recorded: SetupState | None) -> list[str]:
        """Names of the fields that differ from `recorded` (all of them when there is none)."""
        if recorded is None:
            return ["no previous setup"]
        mine, theirs = asdict(self), asdict(recorded)
        return [key for key in mine if mine[key] != theirs[key]]


def desired_state(source: Source, config_text: bytes) -> SetupState:
    """The state a setup of this source and rendered config records.

    Setup and `setup-check` both build it here, so the check accepts exactly
    what a completed migration recorded.
    """
    return SetupState.of(source.version(), source.root.resolve(), config_text)


def read_state(path: Path) -> SetupState | None:
    """The recorded state, or None when there is none or it is unreadable as state.

    A damaged state file is not an error: it only means "migrate to be sure".
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SetupState(**{key: str(data[key]) for key in SetupState.__dataclass_fields__})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(path: Path, state: SetupState) -> None:
    try:
        atomic_write(path, (json.dumps(asdict(state), indent=2, sort_keys=True) + "\n").encode(), STATE_MODE)
    except OSError as err:
        raise RuntimeFailure(f"cannot write the setup state {path}: {err.strerror}") from None


@dataclass(frozen=True)
class MigrationDecision:
    migrate: bool
    reason: str


def decide_migrations(
    desired: SetupState, recorded: SetupState | None, pending: Callable[[], bool]
) -> MigrationDecision:
    """Migrate when the state changed; else ask Django (`pending`) whether any are unapplied.

    `pending` is called only when the state is unchanged: it starts Django,
    which is the slow part of a warm start.
    """
    changes = desired.changes_from(recorded)
    if changes:
        return MigrationDecision(True, "changed: " + ", ".join(changes))
    if pending():
        return MigrationDecision(True, "unapplied migrations in the database")
    return MigrationDecision(False, "state unchanged and no unapplied migrations")
