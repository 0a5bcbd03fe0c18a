import dataclasses
import json
from pathlib import Path

from inventree_runtime.state import (
    SetupState,
    compare,
    database_config_digest,
    migrations_digest,
    read_state,
    users_digest,
    write_state,
)

from .support import TempDirTestCase

CURRENT = SetupState(
    inventree_version="1.3.5",
    api_version="477",
    source="/nix/store/aaa-inventree-src",
    migrations_sha256="m1",
    database_config_sha256="d1",
    config_sha256="c1",
    users_sha256="u1",
)


def changed(**fields) -> SetupState:
    return dataclasses.replace(CURRENT, **fields)


class CompareTest(TempDirTestCase):
    def test_first_setup_migrates_and_applies_users(self):
        pending = compare(CURRENT, None)
        self.assertEqual((pending.migrate_reasons, pending.users_changed), (("no previous setup",), True))

    def test_unchanged_state_leaves_nothing_to_do(self):
        self.assertTrue(compare(CURRENT, CURRENT).nothing)

    def test_each_schema_field_change_migrates_naming_the_field(self):
        cases = {
            "inventree_version": "1.3.4",
            "api_version": "476",
            "source": "/nix/store/bbb-inventree-src",
            "migrations_sha256": "m2",
            "database_config_sha256": "d2",
        }
        for field, value in cases.items():
            with self.subTest(field=field):
                self.assertEqual(compare(CURRENT, changed(**{field: value})).migrate_reasons, (field,))

    def test_config_change_outside_the_schema_part_installs_without_migrating(self):
        pending = compare(CURRENT, changed(config_sha256="c2"))
        self.assertEqual((pending.migrate, pending.config_changed, pending.users_changed), (False, True, False))

    def test_users_change_applies_users_without_migrating(self):
        pending = compare(CURRENT, changed(users_sha256="u2"))
        self.assertEqual((pending.migrate, pending.config_changed, pending.users_changed), (False, False, True))


class DatabaseConfigDigestTest(TempDirTestCase):
    CONFIG = {"database": {"ENGINE": "sqlite3", "NAME": "/db"}, "email": {"host": "a"}, "site_url": "https://a"}

    def test_smtp_host_and_site_url_do_not_change_it(self):
        other = {**self.CONFIG, "email": {"host": "b"}, "site_url": "https://b"}
        self.assertEqual(database_config_digest(self.CONFIG, {}), database_config_digest(other, {}))

    def test_database_section_changes_it(self):
        other = {**self.CONFIG, "database": {"ENGINE": "sqlite3", "NAME": "/other"}}
        self.assertNotEqual(database_config_digest(self.CONFIG, {}), database_config_digest(other, {}))

    def test_global_settings_do_not_change_it_except_the_plugin_apps_switch(self):
        with_settings = {**self.CONFIG, "global_settings": {"INVENTREE_COMPANY_NAME": "A"}}
        self.assertEqual(database_config_digest(self.CONFIG, {}), database_config_digest(with_settings, {}))
        apps_on = {**self.CONFIG, "global_settings": {"INVENTREE_COMPANY_NAME": "A", "ENABLE_PLUGINS_APP": True}}
        apps_off = {**self.CONFIG, "global_settings": {"INVENTREE_COMPANY_NAME": "B", "ENABLE_PLUGINS_APP": False}}
        self.assertNotEqual(database_config_digest(with_settings, {}), database_config_digest(apps_on, {}))
        self.assertNotEqual(database_config_digest(apps_on, {}), database_config_digest(apps_off, {}))

    def test_a_key_it_does_not_know_changes_it(self):
        other = {**self.CONFIG, "debug_silk": True}
        self.assertNotEqual(database_config_digest(self.CONFIG, {}), database_config_digest(other, {}))

    def test_database_environment_override_changes_it(self):
        self.assertNotEqual(
            database_config_digest(self.CONFIG, {}), database_config_digest(self.CONFIG, {"INVENTREE_DB_NAME": "x"})
        )

    def test_database_password_does_not_change_it(self):
        self.assertEqual(
            database_config_digest(self.CONFIG, {"INVENTREE_DB_PASSWORD": "a"}),
            database_config_digest(self.CONFIG, {"INVENTREE_DB_PASSWORD": "b"}),
        )


class MigrationsDigestTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.write("part/migrations/0001_initial.py", "")
        self.write("part/models.py", "")

    def test_new_migration_file_changes_it(self):
        before = migrations_digest(self.tmp)
        self.write("stock/migrations/0002_more.py", "")
        self.assertNotEqual(migrations_digest(self.tmp), before)

    def test_other_files_and_bytecode_do_not_change_it(self):
        before = migrations_digest(self.tmp)
        self.write("part/views.py", "")
        self.write("part/migrations/__pycache__/0001_initial.cpython-313.pyc", "")
        self.write("part/migrations/__pycache__/migrations/x.py", "")
        self.assertEqual(migrations_digest(self.tmp), before)


class UsersDigestTest(TempDirTestCase):
    def test_changed_password_changes_it(self):
        self.assertNotEqual(users_digest(b"{}", {"admin": "a"}, b"k"), users_digest(b"{}", {"admin": "b"}, b"k"))

    def test_changed_users_file_changes_it(self):
        self.assertNotEqual(users_digest(b"{}", {}, b"k"), users_digest(b'{"users": {}}', {}, b"k"))

    def test_it_is_keyed_with_the_secret_key(self):
        self.assertNotEqual(users_digest(b"{}", {"admin": "a"}, b"k1"), users_digest(b"{}", {"admin": "a"}, b"k2"))


class StateFileTest(TempDirTestCase):
    def test_written_state_reads_back_equal(self):
        write_state(self.tmp / "state.json", CURRENT)
        self.assertEqual(read_state(self.tmp / "state.json"), CURRENT)

    def test_missing_state_file_means_no_previous_setup(self):
        self.assertIsNone(read_state(self.tmp / "state.json"))

    def test_damaged_state_file_means_no_previous_setup(self):
        self.write("state.json", '{"inventree_version": "1.3.5"')
        self.assertIsNone(read_state(self.tmp / "state.json"))

    def test_state_without_a_version_means_no_previous_setup(self):
        self.write("state.json", '{"source": "/x"}')
        self.assertIsNone(read_state(self.tmp / "state.json"))

    def test_state_of_an_older_setup_keeps_its_version_and_migrates_for_the_fields_it_lacks(self):
        old = {"inventree_version": "1.3.5", "source": CURRENT.source, "config_sha256": "c1"}
        self.write("state.json", json.dumps(old))
        recorded = read_state(self.tmp / "state.json")
        self.assertEqual(recorded.inventree_version, "1.3.5")
        self.assertEqual(
            compare(CURRENT, recorded).migrate_reasons,
            ("api_version", "migrations_sha256", "database_config_sha256"),
        )
