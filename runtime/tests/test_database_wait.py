import unittest
from pathlib import Path

from inventree_runtime import database_wait
from inventree_runtime.database_wait import Endpoint, endpoint, wait
from inventree_runtime.errors import RuntimeFailure


class FindEndpointTest(unittest.TestCase):
    def test_sqlite_has_nothing_to_wait_for(self):
        self.assertIsNone(endpoint({"database": {"ENGINE": "sqlite3", "NAME": "/db.sqlite3"}}, {}))

    def test_postgresql_socket_directory_becomes_the_socket_file_of_the_default_port(self):
        found = endpoint({"database": {"ENGINE": "postgresql", "HOST": "/run/postgresql"}}, {})
        self.assertEqual(found.unix_path, Path("/run/postgresql/.s.PGSQL.5432"))

    def test_mysql_socket_is_the_socket_file_itself(self):
        found = endpoint({"database": {"ENGINE": "mysql", "HOST": "/run/mysqld/mysqld.sock"}}, {})
        self.assertEqual(found.unix_path, Path("/run/mysqld/mysqld.sock"))

    def test_remote_host_without_port_uses_the_engines_default_port(self):
        found = endpoint({"database": {"ENGINE": "django.db.backends.mysql", "HOST": "db.example.org"}}, {})
        self.assertEqual((found.host, found.port), ("db.example.org", 3306))

    def test_environment_overrides_the_config_as_in_inventree(self):
        config = {"database": {"ENGINE": "postgresql", "HOST": "db1", "PORT": 5432}}
        found = endpoint(config, {"INVENTREE_DB_HOST": "db2", "INVENTREE_DB_PORT": "6432"})
        self.assertEqual((found.host, found.port), ("db2", 6432))

    def test_server_without_host_is_not_waited_for(self):
        self.assertIsNone(endpoint({"database": {"ENGINE": "postgresql"}}, {}))


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class WaitTest(unittest.TestCase):
    target = Endpoint("postgresql", host="db.example.org", port=5432)

    def refusing(self, times):
        calls = []

        def connect(_target):
            calls.append(1)
            if len(calls) <= times:
                raise ConnectionRefusedError(111, "Connection refused")

        return connect

    def test_returns_at_once_when_the_server_accepts(self):
        clock = FakeClock()
        lines = []
        waited = wait(self.target, 60, self.refusing(0), clock, clock.sleep, lines.append)
        self.assertEqual((waited, lines), (0.0, []))

    def test_retries_until_the_server_accepts_and_says_once_that_it_waits(self):
        clock = FakeClock()
        lines = []
        waited = wait(self.target, 60, self.refusing(5), clock, clock.sleep, lines.append)
        self.assertEqual(waited, 5 * database_wait.RETRY_INTERVAL)
        self.assertEqual(lines, ["database: waiting up to 60 s for postgresql at db.example.org:5432 (Connection refused)"])

    def test_gives_up_after_the_timeout_naming_server_and_error(self):
        clock = FakeClock()
        with self.assertRaises(RuntimeFailure) as raised:
            wait(self.target, 10, self.refusing(1000), clock, clock.sleep, lambda line: None)
        self.assertIn("db.example.org:5432) did not accept a connection within 10 s: Connection refused", str(raised.exception))
        self.assertEqual(clock.now, 10.0)
