"""One node migrates a database at a time: a lock the database itself holds.

Several machines running InvenTree against one database (web and worker
nodes sharing PostgreSQL or MySQL) each run setup when they start, and each
setup may decide to migrate. Two `migrate` runs at once fail on each other's
tables. So `schema_migrate` runs the whole migration sequence inside `held`:
the first node takes the lock and migrates; another waits (saying so, with
the time it waited), then finds nothing left to apply.

- PostgreSQL: a session advisory lock (`pg_advisory_lock`) on a connection of
  its own, so Django's commands closing or reopening theirs cannot drop it;
  the server releases it if the process dies.
- MySQL/MariaDB: `GET_LOCK` on a connection of its own (the same release on
  death), waited for in rounds so the wait can be reported.
- SQLite: no lock. The database is a file one machine opens; SQLite itself
  serialises writers, and a file shared between machines is not supported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# pg_advisory_lock's key: "INVT" as a 32-bit integer. The MySQL lock's name.
POSTGRESQL_KEY = 0x494E5654
MYSQL_NAME = "inventree-migrate"
# How long one MySQL GET_LOCK round waits before the wait is reported again.
MYSQL_ROUND_SECONDS = 30


def _scalar(connection, sql: str, params: list) -> object:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _postgresql(connection, report: Callable[[str], None], clock: Callable[[], float]) -> Callable[[], None]:
    what = f"PostgreSQL advisory lock {POSTGRESQL_KEY}"
    if not _scalar(connection, "SELECT pg_try_advisory_lock(%s)", [POSTGRESQL_KEY]):
        report(f"migrations: another node is migrating this database; waiting for it ({what})")
        began = clock()
        _scalar(connection, "SELECT pg_advisory_lock(%s)", [POSTGRESQL_KEY])
        report(f"migrations: lock taken after waiting {clock() - began:.1f} s ({what})")
    else:
        report(f"migrations: lock taken ({what})")
    return lambda: _scalar(connection, "SELECT pg_advisory_unlock(%s)", [POSTGRESQL_KEY])


def _mysql(connection, report: Callable[[str], None], clock: Callable[[], float]) -> Callable[[], None]:
    what = f"MySQL lock {MYSQL_NAME!r}"
    if _scalar(connection, "SELECT GET_LOCK(%s, 0)", [MYSQL_NAME]) == 1:
        report(f"migrations: lock taken ({what})")
    else:
        report(f"migrations: another node is migrating this database; waiting for it ({what})")
        began = clock()
        while _scalar(connection, "SELECT GET_LOCK(%s, %s)", [MYSQL_NAME, MYSQL_ROUND_SECONDS]) != 1:
            report(f"migrations: still waiting after {clock() - began:.0f} s ({what})")
        report(f"migrations: lock taken after waiting {clock() - began:.1f} s ({what})")
    return lambda: _scalar(connection, "SELECT RELEASE_LOCK(%s)", [MYSQL_NAME])


LOCKS = {"postgresql": _postgresql, "mysql": _mysql}


@contextmanager
def held(
    open_connection: Callable[[], object],
    vendor: str,
    report: Callable[[str], None] = print,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    """Hold the migration lock of a `vendor` database while the block runs.

    `open_connection` makes a connection of the lock's own (closed at the end);
    it is not called for SQLite.
    """
    take = LOCKS.get(vendor)
    if take is None:
        report(f"migrations: no lock needed ({vendor}: one machine's database)")
        yield
        return
    connection = open_connection()
    try:
        release = take(connection, report, clock)
        try:
            yield
        finally:
            release()
    finally:
        connection.close()


def django_connection():
    """A new connection to Django's default database, apart from the one its commands use."""
    from django.db import DEFAULT_DB_ALIAS, connections

    return connections.create_connection(DEFAULT_DB_ALIAS)


def django_vendor() -> str:
    from django.db import connection

    return connection.vendor
