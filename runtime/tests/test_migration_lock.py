"""The migration lock against stand-in database connections (no database needed)."""

import unittest

from inventree_runtime import migration_lock
from inventree_runtime.migration_lock import MYSQL_NAME, POSTGRESQL_KEY, held


class FakeConnection:
    """Answers the lock statements: the lock is free, or held by another node for `busy_rounds`
    attempts of a blocking wait (each blocking attempt advances `clock` by `round_seconds`)."""

    def __init__(self, free=True, clock=None, busy_rounds=0, round_seconds=0.0, on_execute=None):
        self.free = free
        self.clock = clock
        self.busy_rounds = busy_rounds
        self.round_seconds = round_seconds
        self.on_execute = on_execute or (lambda sql: None)
        self.statements = []
        self.closed = False
        self._result = None

    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params):
        self.statements.append((sql, list(params)))
        self.on_execute(sql)
        if "try_advisory_lock" in sql or "GET_LOCK(%s, 0)" in sql:
            self._result = self.free if "try_" in sql else (1 if self.free else 0)
        elif "pg_advisory_lock(" in sql or "GET_LOCK" in sql:
            if self.clock is not None:
                self.clock.now += self.round_seconds
            if self.busy_rounds > 0:
                self.busy_rounds -= 1
                self._result = 0
            else:
                self._result = 1
        else:
            self._result = 1

    def fetchone(self):
        return (self._result,)

    def close(self):
        self.closed = True


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class HeldTest(unittest.TestCase):
    def run_held(self, vendor, connection, clock=None):
        lines, inside = [], []
        with held(lambda: connection, vendor, lines.append, clock or FakeClock()):
            inside.append(list(connection.statements) if connection else None)
        return lines, inside[0]

    def test_postgresql_free_lock_is_taken_at_once_and_released_after_the_block(self):
        connection = FakeConnection(free=True)
        lines, during = self.run_held("postgresql", connection)
        self.assertEqual(during, [("SELECT pg_try_advisory_lock(%s)", [POSTGRESQL_KEY])])
        self.assertEqual(connection.statements[-1], ("SELECT pg_advisory_unlock(%s)", [POSTGRESQL_KEY]))
        self.assertTrue(connection.closed)
        self.assertEqual(lines, [f"migrations: lock taken (PostgreSQL advisory lock {POSTGRESQL_KEY})"])

    def test_postgresql_lock_held_elsewhere_is_waited_for_saying_so_and_how_long(self):
        clock = FakeClock()
        connection = FakeConnection(free=False, clock=clock, round_seconds=42.5)
        lines, during = self.run_held("postgresql", connection, clock)
        self.assertEqual(
            [sql for sql, _ in during], ["SELECT pg_try_advisory_lock(%s)", "SELECT pg_advisory_lock(%s)"]
        )
        self.assertIn("another node is migrating this database; waiting for it", lines[0])
        self.assertEqual(lines[1], f"migrations: lock taken after waiting 42.5 s (PostgreSQL advisory lock {POSTGRESQL_KEY})")

    def test_mysql_waits_in_rounds_reporting_each(self):
        clock = FakeClock()
        connection = FakeConnection(free=False, clock=clock, busy_rounds=2, round_seconds=30)
        lines, _ = self.run_held("mysql", connection, clock)
        self.assertEqual(len(lines), 4, lines)
        self.assertIn("still waiting after 30 s", lines[1])
        self.assertIn("still waiting after 60 s", lines[2])
        self.assertIn("lock taken after waiting 90.0 s", lines[3])
        self.assertEqual(connection.statements[-1], ("SELECT RELEASE_LOCK(%s)", [MYSQL_NAME]))

    def test_sqlite_opens_no_connection_and_takes_no_lock(self):
        def no_connection():
            raise AssertionError("SQLite needs no lock connection")

        lines = []
        with held(no_connection, "sqlite", lines.append):
            pass
        self.assertEqual(lines, ["migrations: no lock needed (sqlite: one machine's database)"])

    def test_the_lock_is_released_and_its_connection_closed_when_the_block_fails(self):
        connection = FakeConnection(free=True)
        with self.assertRaises(RuntimeError):
            with held(lambda: connection, "postgresql", lambda line: None, FakeClock()):
                raise RuntimeError("migrate failed")
        self.assertEqual(connection.statements[-1][0], "SELECT pg_advisory_unlock(%s)")
        self.assertTrue(connection.closed)

    def test_every_server_engine_the_module_offers_has_a_lock(self):
        self.assertEqual(set(migration_lock.LOCKS), {"postgresql", "mysql"})
