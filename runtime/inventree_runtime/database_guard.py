"""Refuse to migrate an empty database next to an earlier instance's data.

Coming from another packaging (nixpkgs' module uses PostgreSQL by default,
this one SQLite), or changing the database settings, can point setup at a
new, empty database while the old one still holds the inventory. Migrating
it would start a fresh instance without a word. So before migrating, setup
calls `guard`: when the data directory shows an earlier instance on another
database and the configured database is empty, setup stops and says what to
set. The (slow) emptiness check runs only when there is such evidence.

Evidence of an earlier instance on another database:
- the record `$INVENTREE_DATA_DIR/.setup-database.json`, written whenever
  the guard lets setup migrate, names another database;
- a SQLite database with tables in the data directory (this module's
  `database/inventree.sqlite3`, or a `*.sqlite3` at its top) while the
  configuration names another database;
- without a record (setup never ran here): the layout of nixpkgs' module,
  `config/config.yaml` in the data directory; its database is PostgreSQL
  unless it was configured otherwise.

`python -m inventree_runtime.database_guard` is the emptiness check of a
database server: it starts Django and exits EMPTY_STATUS when the database
has no `django_migrations` table.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path

from .config_install import atomic_write
from .errors import RuntimeFailure

RECORD_NAME = ".setup-database.json"
RECORD_MODE = 0o640
EMPTY_STATUS = 4
PROGRAM = "inventree_runtime.database_guard"
# Where SQLite databases of earlier instances lie, relative to the data directory.
SQLITE_PLACES = ("database/*.sqlite3", "*.sqlite3")
NIXPKGS_MODULE_CONFIG = "config/config.yaml"


@dataclass(frozen=True)
class Database:
    """Which database an instance uses: engine (sqlite, postgresql, mysql), name, host."""

    engine: str
    name: str
    host: str = ""

    def describe(self) -> str:
        where = f" on {self.host}" if self.host else ""
        return f"{self.engine} database {self.name}{where}"

    @classmethod
    def configured(cls, config: Mapping, env: Mapping[str, str]) -> Database:
        """The database InvenTree will use: INVENTREE_DB_* first, then config.yaml (InvenTree's order)."""
        section = config.get("database") or {}

        def setting(key: str) -> str:
            value = env.get(f"INVENTREE_DB_{key}") or section.get(key) or section.get(key.lower()) or ""
            return str(value)

        return cls(normal_engine(setting("ENGINE")), setting("NAME"), setting("HOST"))


def normal_engine(engine: str) -> str:
    """InvenTree accepts several spellings ("sqlite3", "postgres", "django.db.backends.mysql", …)."""
    lowered = engine.lower()
    for normal, spellings in (("sqlite", ("sqlite",)), ("postgresql", ("postg", "psql")), ("mysql", ("mysql", "maria"))):
        if any(s in lowered for s in spellings):
            return normal
    return lowered


def read_record(data_dir: Path) -> Database | None:
    """The database recorded by an earlier setup, or None (none, or unreadable: no evidence)."""
    try:
        data = json.loads((data_dir / RECORD_NAME).read_text(encoding="utf-8"))
        return Database(str(data["engine"]), str(data["name"]), str(data.get("host", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_record(data_dir: Path, database: Database) -> None:
    text = json.dumps(asdict(database), indent=2, sort_keys=True) + "\n"
    try:
        atomic_write(data_dir / RECORD_NAME, text.encode(), RECORD_MODE)
    except OSError as err:
        raise RuntimeFailure(f"cannot write {data_dir / RECORD_NAME}: {err.strerror}") from None


def sqlite_has_tables(path: Path) -> bool:
    """True when `path` is a SQLite database InvenTree (Django) has migrated."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as connection:
            row = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'django_migrations'")
            return row.fetchone() is not None
    except sqlite3.Error:
        return False


def earlier_instances(data_dir: Path, configured: Database) -> list[str]:
    """What in `data_dir` shows an instance on a database other than `configured` (empty: nothing)."""
    found = []
    record = read_record(data_dir)
    if record is not None and record != configured:
        found.append(f"{data_dir / RECORD_NAME} records that setup last migrated the {record.describe()}")
    for pattern in SQLITE_PLACES:
        for path in sorted(data_dir.glob(pattern)):
            if (configured.engine, configured.name) != ("sqlite", str(path)) and sqlite_has_tables(path):
                found.append(f"{path} is the SQLite database of an earlier instance")
    if record is None and (data_dir / NIXPKGS_MODULE_CONFIG).is_file():
        found.append(
            f"{data_dir / NIXPKGS_MODULE_CONFIG} is the config file of nixpkgs' services.inventree, "
            "whose database is PostgreSQL unless it was configured otherwise"
        )
    return list(dict.fromkeys(found))


def refusal(configured: Database, evidence: list[str], data_dir: Path) -> str:
    return (
        f"setup stopped before migrating: the configured {configured.describe()} is empty, but\n  "
        + "\n  ".join(evidence)
        + "\nMigrating would start a new, empty InvenTree next to that data. Either point the configuration "
        "at the earlier database (services.inventree.database.type, name, host, user; for nixpkgs' module "
        'database.type = "postgresql"), or move its data into the configured database first (docs/nixos.md, '
        f'"Coming from another packaging"). To start empty on purpose, move the files named above out of {data_dir}.'
    )


def check(config: Mapping, env: Mapping[str, str], data_dir: Path, is_empty: Callable[[Database], bool]) -> Database:
    """Raise when migrating would silently start a fresh instance; else record and return the database."""
    configured = Database.configured(config, env)
    evidence = earlier_instances(data_dir, configured)
    if evidence and is_empty(configured):
        raise RuntimeFailure(refusal(configured, evidence, data_dir))
    write_record(data_dir, configured)
    return configured


def guard(config: Mapping, env: Mapping[str, str], data_dir: Path, source) -> Database:
    """`check` with the real emptiness test: SQLite directly, a server through Django."""
    from . import django_manage

    def is_empty(database: Database) -> bool:
        if database.engine == "sqlite":
            return not sqlite_has_tables(Path(database.name))
        result = django_manage.run_module(source, PROGRAM, env, ok_statuses=(0, EMPTY_STATUS))
        return result.returncode == EMPTY_STATUS

    return check(config, env, data_dir, is_empty)


def main() -> int:
    """In the backend directory, as a Django program: EMPTY_STATUS when nothing was ever migrated."""
    from .django_program import setup_django

    setup_django()
    from django.db import connection

    return 0 if "django_migrations" in connection.introspection.table_names() else EMPTY_STATUS


if __name__ == "__main__":
    sys.exit(main())
