import json
import os
from unittest import mock

from inventree_runtime import setup
from inventree_runtime.errors import RuntimeFailure

from .support import TempDirTestCase, fake_source, read_log, tree

USERS = {"users": {"admin": {"is_superuser": True, "password_credential": "user-password-admin"}}}
PASSWORD = "a-password-of-admin"
MIGRATE = "inventree_runtime.schema_migrate"
USERS_PROGRAM = "inventree_runtime.users_apply"


class SetupTestCase(TempDirTestCase):
    """Setup against a fake InvenTree tree whose manage.py only records its arguments."""

    def setUp(self):
        super().setUp()
        data = self.tmp / "data"
        self.config = {"static_root": str(data / "static"), "media_root": str(data / "media"), "backup_dir": str(data / "backup")}
        self.write("store/config.json", json.dumps(self.config))
        self.write("store/users.json", json.dumps(USERS))
        self.write("creds/user-password-admin", PASSWORD + "\n")
        self.log = self.tmp / "manage.log"
        self.env = {
            **os.environ,
            "INVENTREE_SRC": str(fake_source(self.tmp / "src")),
            "INVENTREE_DATA_DIR": str(data),
            "INVENTREE_CONFIG_FILE": str(data / "config.yaml"),
            "INVENTREE_CONFIG_SOURCE": str(self.tmp / "store/config.json"),
            "INVENTREE_USERS_FILE": str(self.tmp / "store/users.json"),
            "CREDENTIALS_DIRECTORY": str(self.tmp / "creds"),
            "FAKE_MANAGE_LOG": str(self.log),
        }
        self.data = data
        self.lines = []
        # The users program needs Django; record that it was started instead.
        patcher = mock.patch("inventree_runtime.django_manage.run_module", side_effect=self.record_module)
        patcher.start()
        self.addCleanup(patcher.stop)

    def record_module(self, source, module, env, args=(), ok_statuses=(0,)):
        """Our Django programs: recorded; FAKE_STATUS_<module> sets the exit status (as run_module checks it)."""
        self.assertEqual(env["INVENTREE_USERS_FILE"], str(self.tmp / "store/users.json"))
        with open(self.log, "a") as log:
            log.write(json.dumps([module, *args]) + "\n")
        status = int(env.get("FAKE_STATUS_" + module, "0"))
        if status not in ok_statuses:
            raise RuntimeFailure(f"`python -m {module}` failed with status {status}")
        return mock.Mock(returncode=status)

    def run_setup(self):
        self.lines = []
        setup.run(self.env, report=self.lines.append)
        return [args[0] for args in read_log(self.log)]

    def commands_of_run(self):
        before = len(read_log(self.log))
        self.run_setup()
        return [a for a in read_log(self.log)[before:]]

    def line_starting(self, prefix):
        return next(line for line in self.lines if line.startswith(prefix))


class FirstSetupTest(SetupTestCase):
    def test_first_run_installs_config_key_and_directories(self):
        self.run_setup()
        self.assertEqual(json.loads((self.data / "config.yaml").read_text()), self.config)
        self.assertEqual((self.data / "secret_key.txt").stat().st_mode & 0o777, 0o600)
        for key in ("static_root", "media_root", "backup_dir"):
            self.assertTrue(os.path.isdir(self.config[key]), key)

    def test_first_run_migrates_and_applies_users_in_one_django_program_then_collects_static(self):
        self.assertEqual(self.commands_of_run()[0], [MIGRATE, "--apply-users"])
        self.assertEqual([c[0] for c in read_log(self.log)[1:]], ["collectstatic", "collectplugins"])

    def test_first_run_without_users_migrates_without_applying_users(self):
        self.write("store/users.json", '{"users": {}}')
        self.assertEqual(self.commands_of_run()[0], [MIGRATE])
        self.assertIn("users: none declared", self.lines)

    def test_first_run_reports_each_slow_step_with_its_duration(self):
        self.run_setup()
        self.assertRegex(self.line_starting("migrations: applied"), r"^migrations: applied \(\d+\.\d s\)$")
        self.assertRegex(self.line_starting("static: collected"), r"^static: collected \(\d+\.\d s\)$")

    def test_first_run_records_the_state_without_any_password(self):
        self.run_setup()
        text = (self.data / ".setup-state.json").read_text()
        state = json.loads(text)
        self.assertEqual((state["inventree_version"], state["api_version"]), ("1.3.5", "477"))
        self.assertEqual(len(state["users_sha256"]), 64)
        self.assertNotIn(PASSWORD, text)


class SecondSetupTest(SetupTestCase):
    def setUp(self):
        super().setUp()
        self.run_setup()

    def test_unchanged_second_run_starts_no_django_and_changes_nothing(self):
        before = tree(self.data)
        self.assertEqual(self.commands_of_run(), [])
        self.assertEqual(tree(self.data), before)
        self.assertIn("migrations: skipped (version, source, migration files and database config unchanged)", self.lines)
        self.assertIn("users: unchanged (users file and passwords as last applied)", self.lines)

    def test_changed_password_credential_applies_users_only(self):
        self.write("creds/user-password-admin", "new password\n")
        self.assertEqual(self.commands_of_run(), [[USERS_PROGRAM]])
        self.assertEqual(self.commands_of_run(), [])

    def test_changed_users_file_applies_users_only(self):
        self.write("store/users.json", json.dumps({**USERS, "undeclared": "deactivate"}))
        self.assertEqual(self.commands_of_run(), [[USERS_PROGRAM]])

    def test_new_secret_key_applies_users_again(self):
        self.write("data/secret_key.txt", "another key\n")
        self.assertEqual(self.commands_of_run(), [[USERS_PROGRAM]])

    def test_users_file_emptied_applies_nothing(self):
        self.write("store/users.json", '{"users": {}}')
        self.assertEqual(self.commands_of_run(), [])
        self.assertIn("users: none declared", self.lines)

    def test_new_source_tree_migrates(self):
        self.env["INVENTREE_SRC"] = str(fake_source(self.tmp / "src2"))
        self.assertEqual(self.commands_of_run()[0], [MIGRATE, "--apply-users"])
        self.assertIn("migrations: running (changed: source)", self.lines)

    def test_new_migration_file_in_the_same_tree_migrates(self):
        self.write("src/src/backend/InvenTree/part/migrations/0142_new.py", "")
        self.assertEqual(self.commands_of_run()[0], [MIGRATE, "--apply-users"])
        self.assertIn("migrations: running (changed: migrations_sha256)", self.lines)

    def test_newer_version_in_the_same_tree_migrates(self):
        self.write("src/src/backend/InvenTree/InvenTree/version.py", "INVENTREE_SW_VERSION = '1.3.6'\n")
        self.commands_of_run()
        self.assertIn("migrations: running (changed: inventree_version)", self.lines)
        self.assertEqual(json.loads((self.data / ".setup-state.json").read_text())["inventree_version"], "1.3.6")

    def test_smtp_host_change_installs_the_config_without_migrating(self):
        self.write("store/config.json", json.dumps({**self.config, "email": {"host": "smtp.example.org"}}))
        self.assertEqual(self.commands_of_run(), [])
        self.assertEqual(json.loads((self.data / "config.yaml").read_text())["email"], {"host": "smtp.example.org"})
        self.assertIn("migrations: skipped (version, source, migration files and database config unchanged)", self.lines)

    def test_database_config_change_migrates(self):
        # The same database with another option (another, empty database next to a migrated one
        # is refused by the database guard: test_database_guard).
        database = {**self.config.get("database", {}), "OPTIONS": {"timeout": 30}}
        self.write("store/config.json", json.dumps({**self.config, "database": database}))
        self.assertEqual(self.commands_of_run()[0], [MIGRATE, "--apply-users"])
        self.assertIn("migrations: running (changed: database_config_sha256)", self.lines)


class FailureTest(SetupTestCase):
    def test_media_root_the_service_may_not_write_stops_setup_naming_it_before_migrating(self):
        media = self.config["media_root"]
        os.makedirs(media)
        real_access = os.access
        # Tests may run as root, which os.access never refuses: stand in for the permission check.
        unwritable = lambda path, mode: False if str(path) == media else real_access(path, mode)
        with mock.patch("inventree_runtime.setup.os.access", side_effect=unwritable):
            with self.assertRaisesRegex(RuntimeFailure, f"media_root {media} is not writable by .*chown -R"):
                self.run_setup()
        self.assertEqual(read_log(self.log), [], "nothing may migrate")
        self.assertFalse((self.data / ".setup-state.json").exists())

    def test_failed_migration_leaves_the_state_unrecorded_so_the_next_run_retries(self):
        self.env["FAKE_STATUS_" + MIGRATE] = "1"
        with self.assertRaisesRegex(RuntimeFailure, "schema_migrate` failed with status 1"):
            self.run_setup()
        self.assertFalse((self.data / ".setup-state.json").exists())

    def test_failed_static_deployment_after_migrating_does_not_migrate_again(self):
        self.write("store/users.json", '{"users": {}}')
        self.env["FAKE_FAIL_collectstatic"] = "1"
        with self.assertRaises(RuntimeFailure):
            self.run_setup()
        del self.env["FAKE_FAIL_collectstatic"]
        self.assertNotIn(MIGRATE, [c[0] for c in self.commands_of_run()])

    def test_failed_users_step_is_retried_by_the_next_run_without_migrating(self):
        self.run_setup()
        self.write("creds/user-password-admin", "new password\n")
        self.env["FAKE_STATUS_" + USERS_PROGRAM] = "1"
        with self.assertRaises(RuntimeFailure):
            self.run_setup()
        del self.env["FAKE_STATUS_" + USERS_PROGRAM]
        self.assertEqual(self.commands_of_run(), [[USERS_PROGRAM]])

    def test_database_migrated_by_a_newer_tree_is_refused_and_the_state_left_alone(self):
        self.env["FAKE_STATUS_" + MIGRATE] = "4"
        with self.assertRaisesRegex(RuntimeFailure, "migrated by a newer InvenTree than this source tree"):
            self.run_setup()
        self.assertFalse((self.data / ".setup-state.json").exists())


class DowngradeTest(SetupTestCase):
    def test_older_tree_than_recorded_is_refused_naming_both_versions_before_anything_is_written(self):
        self.run_setup()
        older = fake_source(self.tmp / "src-older", version="1.2.0 dev", api_version=453)
        self.env["INVENTREE_SRC"] = str(older)
        self.write("store/config.json", json.dumps({**self.config, "debug": True}))
        before = tree(self.data)
        with self.assertRaises(RuntimeFailure) as caught:
            self.commands_of_run()
        self.assertIn("InvenTree 1.3.5 (API 477)", str(caught.exception))
        self.assertIn("older InvenTree 1.2.0 dev (API 453)", str(caught.exception))
        self.assertEqual(tree(self.data), before)

    def test_newer_tree_than_recorded_migrates(self):
        self.run_setup()
        self.env["INVENTREE_SRC"] = str(fake_source(self.tmp / "src-newer", version="1.4.0 dev", api_version=480))
        self.assertEqual(self.commands_of_run()[0], [MIGRATE, "--apply-users"])


class PreflightTest(SetupTestCase):
    def assert_stops_naming(self, fragment):
        with self.assertRaises(RuntimeFailure) as caught:
            self.run_setup()
        self.assertIn("setup stopped before changing anything", str(caught.exception))
        self.assertIn(fragment, str(caught.exception))
        self.assertFalse(self.data.exists(), "nothing may be written when an input is unreadable")
        self.assertEqual(read_log(self.log), [])

    def test_missing_password_file_stops_setup_naming_the_file(self):
        os.unlink(self.tmp / "creds/user-password-admin")
        self.assert_stops_naming(str(self.tmp / "creds/user-password-admin"))

    def test_missing_secret_key_credential_stops_setup_naming_the_file(self):
        self.env["INVENTREE_SECRET_KEY_FILE"] = str(self.tmp / "creds/INVENTREE_SECRET_KEY_FILE")
        self.assert_stops_naming("secret key file " + str(self.tmp / "creds/INVENTREE_SECRET_KEY_FILE"))

    def test_invalid_users_file_stops_setup(self):
        self.write("store/users.json", '{"undeclared": "purge"}')
        self.assert_stops_naming("'undeclared' must be one of")

    def test_config_that_is_not_json_stops_setup(self):
        self.write("store/config.json", "debug: true\n")
        self.assert_stops_naming("is not the JSON config the module renders")

    def test_all_unreadable_files_are_named_together(self):
        os.unlink(self.tmp / "creds/user-password-admin")
        self.env["INVENTREE_SECRET_KEY_FILE"] = str(self.tmp / "creds/INVENTREE_SECRET_KEY_FILE")
        with self.assertRaises(RuntimeFailure) as caught:
            self.run_setup()
        self.assertIn("user-password-admin", str(caught.exception))
        self.assertIn("INVENTREE_SECRET_KEY_FILE", str(caught.exception))


class StaticSourceTest(SetupTestCase):
    def setUp(self):
        super().setUp()
        self.write("store/static/css/app.css", "body {}", mode=0o444)
        self.env["INVENTREE_STATIC_SOURCE"] = str(self.tmp / "store/static")

    def test_prebuilt_static_files_are_copied_writable_instead_of_collected(self):
        commands = self.run_setup()
        self.assertNotIn("collectstatic", commands)
        copied = self.data / "static/css/app.css"
        self.assertEqual(copied.read_text(), "body {}")
        self.assertEqual(copied.stat().st_mode & 0o777, 0o644)

    def test_new_static_source_replaces_the_old_files(self):
        self.run_setup()
        self.write("store/static2/js/app.js", "x")
        self.env["INVENTREE_STATIC_SOURCE"] = str(self.tmp / "store/static2")
        self.run_setup()
        self.assertFalse((self.data / "static/css/app.css").exists())
        self.assertTrue((self.data / "static/js/app.js").exists())

    def test_unchanged_static_source_is_not_copied_again(self):
        self.run_setup()
        inode = (self.data / "static/css/app.css").stat().st_ino
        self.run_setup()
        self.assertEqual((self.data / "static/css/app.css").stat().st_ino, inode)
        self.assertTrue(any(line.startswith("static: unchanged") for line in self.lines))


class SecretKeyCredentialTest(SetupTestCase):
    def test_key_from_the_secret_key_credential_generates_no_key_file(self):
        self.write("creds/INVENTREE_SECRET_KEY", "a-key-from-secretKeyFile\n")
        from inventree_runtime.credentials import load_credentials

        load_credentials(self.env)
        self.run_setup()
        self.assertFalse((self.data / "secret_key.txt").exists())
        self.assertIn("secret key: from INVENTREE_SECRET_KEY", self.lines)

    def test_empty_secret_key_credential_stops_setup(self):
        self.env["INVENTREE_SECRET_KEY"] = ""
        with self.assertRaisesRegex(RuntimeFailure, "INVENTREE_SECRET_KEY is empty"):
            self.run_setup()
        self.assertFalse(self.data.exists())


class NoUsersTest(SetupTestCase):
    def test_empty_declaration_starts_no_users_process(self):
        self.write("store/users.json", '{"undeclared": "keep", "users": {}}')
        self.assertNotIn("inventree_runtime.users_apply", self.run_setup())
        self.assertIn("users: none declared", self.lines)

    def test_empty_declaration_that_deactivates_undeclared_users_is_applied_with_the_migration(self):
        self.write("store/users.json", '{"undeclared": "deactivate", "users": {}}')
        self.assertEqual(self.commands_of_run()[0], [MIGRATE, "--apply-users"])

    def test_empty_declaration_that_deactivates_undeclared_users_is_applied_on_a_warm_start(self):
        self.write("store/users.json", '{"undeclared": "keep", "users": {}}')
        self.run_setup()
        self.write("store/users.json", '{"undeclared": "deactivate", "users": {}}')
        self.assertEqual(self.commands_of_run(), [[USERS_PROGRAM]])
