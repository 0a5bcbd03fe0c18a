import json
import sqlite3
from contextlib import closing
from pathlib import Path
from unittest import mock

from inventree_runtime.database_guard import (
    EMPTY_STATUS,
    PROGRAM,
    RECORD_NAME,
    Database,
    check,
    earlier_instances,
    normal_engine,
    read_record,
    sqlite_has_tables,
)
from inventree_runtime.errors import RuntimeFailure

from .support import TempDirTestCase, read_log
from .test_setup import SetupTestCase

POSTGRES_CONFIG = {"database": {"ENGINE": "postgresql", "NAME": "inventree", "USER": "inventree", "HOST": "/run/postgresql"}}
POSTGRES = Database("postgresql", "inventree", "/run/postgresql")


def sqlite_config(path: Path) -> dict:
    return {"database": {"ENGINE": "sqlite3", "NAME": str(path)}}


def never_called(_database):
    raise AssertionError("the emptiness check must not run without evidence of an earlier instance")


def make_migrated_sqlite(path: Path) -> Path:
    """A SQLite file holding Django's migration table, as a migrated instance's does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE django_migrations (id INTEGER PRIMARY KEY)")
        connection.commit()
    return path


class GuardTestCase(TempDirTestCase):
    def migrated_sqlite(self, relative: str) -> Path:
        return make_migrated_sqlite(self.tmp / relative)


class ConfiguredDatabaseTest(TempDirTestCase):
    def test_engine_spellings_are_normalised(self):
        self.assertEqual(
            [normal_engine(e) for e in ("sqlite3", "django.db.backends.postgresql", "postgres", "psql", "mysql", "MariaDB")],
            ["sqlite", "postgresql", "postgresql", "postgresql", "mysql", "mysql"],
        )

    def test_environment_overrides_the_config_as_in_inventree(self):
        configured = Database.configured(POSTGRES_CONFIG, {"INVENTREE_DB_NAME": "other"})
        self.assertEqual(configured, Database("postgresql", "other", "/run/postgresql"))


class SqliteTablesTest(GuardTestCase):
    def test_migrated_database_has_tables(self):
        self.assertTrue(sqlite_has_tables(self.migrated_sqlite("db.sqlite3")))

    def test_missing_file_has_none(self):
        self.assertFalse(sqlite_has_tables(self.tmp / "absent.sqlite3"))

    def test_database_without_django_tables_has_none(self):
        path = self.tmp / "empty.sqlite3"
        sqlite3.connect(path).close()
        self.assertFalse(sqlite_has_tables(path))


class EvidenceTest(GuardTestCase):
    def test_fresh_data_directory_shows_no_earlier_instance(self):
        self.assertEqual(earlier_instances(self.tmp, POSTGRES), [])

    def test_migrated_sqlite_file_is_evidence_when_postgresql_is_configured(self):
        path = self.migrated_sqlite("database/inventree.sqlite3")
        [found] = earlier_instances(self.tmp, POSTGRES)
        self.assertIn(str(path), found)

    def test_the_configured_sqlite_file_itself_is_no_evidence(self):
        path = self.migrated_sqlite("database/inventree.sqlite3")
        self.assertEqual(earlier_instances(self.tmp, Database("sqlite", str(path))), [])

    def test_record_of_another_database_is_evidence(self):
        self.write(RECORD_NAME, '{"engine": "sqlite", "name": "/var/lib/inventree/database/inventree.sqlite3"}')
        [found] = earlier_instances(self.tmp, POSTGRES)
        self.assertIn("records that setup last migrated the sqlite database", found)

    def test_record_of_the_same_database_is_no_evidence(self):
        self.write(RECORD_NAME, '{"engine": "postgresql", "name": "inventree", "host": "/run/postgresql"}')
        self.assertEqual(earlier_instances(self.tmp, POSTGRES), [])

    def test_nixpkgs_module_config_without_record_is_evidence(self):
        self.write("config/config.yaml", "database: {}\n")
        [found] = earlier_instances(self.tmp, Database("sqlite", str(self.tmp / "database/inventree.sqlite3")))
        self.assertIn("nixpkgs' services.inventree", found)


class CheckTest(GuardTestCase):
    def test_empty_database_next_to_an_earlier_instance_is_refused(self):
        self.migrated_sqlite("database/inventree.sqlite3")
        with self.assertRaises(RuntimeFailure) as caught:
            check(POSTGRES_CONFIG, {}, self.tmp, lambda _db: True)
        self.assertIn("the configured postgresql database inventree on /run/postgresql is empty", str(caught.exception))
        self.assertIn("services.inventree.database.type", str(caught.exception))

    def test_refusal_records_nothing(self):
        self.migrated_sqlite("database/inventree.sqlite3")
        with self.assertRaises(RuntimeFailure):
            check(POSTGRES_CONFIG, {}, self.tmp, lambda _db: True)
        self.assertFalse((self.tmp / RECORD_NAME).exists())

    def test_database_holding_data_is_migrated_despite_evidence(self):
        self.migrated_sqlite("database/inventree.sqlite3")
        self.assertEqual(check(POSTGRES_CONFIG, {}, self.tmp, lambda _db: False), POSTGRES)

    def test_fresh_instance_is_migrated_without_an_emptiness_check(self):
        self.assertEqual(check(POSTGRES_CONFIG, {}, self.tmp, never_called), POSTGRES)

    def test_passing_check_records_the_configured_database(self):
        path = self.tmp / "database/inventree.sqlite3"
        check(sqlite_config(path), {}, self.tmp, never_called)
        self.assertEqual(read_record(self.tmp), Database("sqlite", str(path)))

    def test_switching_back_to_a_recorded_database_after_a_refusal_is_allowed(self):
        sqlite_path = self.migrated_sqlite("database/inventree.sqlite3")
        check(sqlite_config(sqlite_path), {}, self.tmp, never_called)
        with self.assertRaises(RuntimeFailure):
            check(POSTGRES_CONFIG, {}, self.tmp, lambda _db: True)
        self.assertEqual(check(sqlite_config(sqlite_path), {}, self.tmp, never_called).engine, "sqlite")


class SetupHookTest(SetupTestCase):
    """The guard as setup runs it, against the fake InvenTree tree of test_setup."""

    def record_module(self, source, module, env, args=(), ok_statuses=(0,)):
        if module == PROGRAM:
            return mock.Mock(returncode=EMPTY_STATUS)
        return super().record_module(source, module, env, args, ok_statuses)

    def test_setup_stops_before_migrating_an_empty_postgresql_next_to_a_migrated_sqlite_file(self):
        self.write("store/config.json", json.dumps({**self.config, **POSTGRES_CONFIG}))
        make_migrated_sqlite(self.data / "database/inventree.sqlite3")
        with self.assertRaises(RuntimeFailure) as caught:
            self.run_setup()
        self.assertIn("setup stopped before migrating", str(caught.exception))
        self.assertNotIn(["migrate", "--run-syncdb", "--noinput", "-v", "1"], read_log(self.log))
