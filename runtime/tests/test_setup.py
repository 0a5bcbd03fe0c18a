import json
import os
from unittest import mock

from inventree_runtime import setup
from inventree_runtime.django_manage import MIGRATION_STEPS
from inventree_runtime.errors import RuntimeFailure

from .support import TempDirTestCase, fake_source, read_log, tree

USERS = {"users": {"admin": {"is_superuser": True, "password_credential": "user-password-admin"}}}


class SetupTestCase(TempDirTestCase):
    """Setup against a fake InvenTree tree whose manage.py only records its arguments."""

    def setUp(self):
        super().setUp()
        data = self.tmp / "data"
        self.config = {"static_root": str(data / "static"), "media_root": str(data / "media"), "backup_dir": str(data / "backup")}
        self.write("store/config.json", json.dumps(self.config))
        self.write("store/users.json", json.dumps(USERS))
        self.write("creds/user-password-admin", "pw\n")
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
        """The users program: pending migrations (FAKE_PENDING=1) answer its check with status 3."""
        self.assertEqual(env["INVENTREE_USERS_FILE"], str(self.tmp / "store/users.json"))
        with open(self.log, "a") as log:
            log.write(json.dumps([module, *args]) + "\n")
        pending = "--check-migrations" in args and env.get("FAKE_PENDING") == "1"
        return mock.Mock(returncode=3 if pending else 0)

    def run_setup(self):
        self.lines = []
        setup.run(self.env, report=self.lines.append)
        return [args[0] if args[0] != "migrate" else " ".join(args[:2]) for args in read_log(self.log)]

    def commands_of_run(self):
        before = len(read_log(self.log))
        self.run_setup()
        return [a for a in read_log(self.log)[before:]]


class FirstSetupTest(SetupTestCase):
    def test_first_run_installs_config_key_and_directories(self):
        self.run_setup()
        self.assertEqual(json.loads((self.data / "config.yaml").read_text()), self.config)
        self.assertEqual((self.data / "secret_key.txt").stat().st_mode & 0o777, 0o600)
        for key in ("static_root", "media_root", "backup_dir"):
            self.assertTrue(os.path.isdir(self.config[key]), key)

    def test_first_run_migrates_as_inventree_does_stores_settings_defaults_then_collects_static_then_applies_users(
        self,
    ):
        commands = self.run_setup()
        expected = [" ".join(step[:2]) if step[0] == "migrate" else step[0] for step in MIGRATION_STEPS]
        self.assertEqual(
            commands,
            [
                *expected,
                "inventree_runtime.settings_defaults",
                "collectstatic",
                "collectplugins",
                "inventree_runtime.users_apply",
            ],
        )

    def test_first_run_records_the_state(self):
        self.run_setup()
        state = json.loads((self.data / ".setup-state.json").read_text())
        self.assertEqual(state["inventree_version"], "1.3.5")


class SecondSetupTest(SetupTestCase):
    def test_second_run_starts_only_the_users_program_which_checks_migrations(self):
        self.run_setup()
        before = tree(self.data)
        commands = self.commands_of_run()
        self.assertEqual(commands, [["inventree_runtime.users_apply", "--check-migrations"]])
        self.assertEqual(tree(self.data), before)
        self.assertIn("migrations: skipped (state unchanged and no unapplied migrations)", self.lines)

    def test_pending_migrations_found_by_the_users_step_are_applied_then_users_applied(self):
        self.run_setup()
        self.env["FAKE_PENDING"] = "1"
        commands = self.commands_of_run()
        self.assertEqual(commands[0], ["inventree_runtime.users_apply", "--check-migrations"])
        self.assertIn(["migrate", "--run-syncdb", "--noinput", "-v", "1"], commands)
        self.assertIn(["inventree_runtime.settings_defaults"], commands)
        self.assertEqual(commands[-1], ["inventree_runtime.users_apply"])
        self.assertIn("migrations: running (unapplied migrations in the database)", self.lines)

    def test_without_users_the_second_run_checks_migrations_with_django(self):
        self.write("store/users.json", '{"users": {}}')
        self.run_setup()
        commands = self.commands_of_run()
        self.assertEqual([c[:2] for c in commands], [["migrate", "--check"]])
        self.assertIn("migrations: skipped (state unchanged and no unapplied migrations)", self.lines)

    def test_without_users_pending_migrations_are_applied(self):
        self.write("store/users.json", '{"users": {}}')
        self.run_setup()
        self.env["FAKE_PENDING"] = "1"
        self.assertIn(["migrate", "--run-syncdb", "--noinput", "-v", "1"], self.commands_of_run())

    def test_changed_config_reinstalls_and_migrates(self):
        self.run_setup()
        self.write("store/config.json", json.dumps({**self.config, "debug": True}))
        commands = self.commands_of_run()
        self.assertEqual(json.loads((self.data / "config.yaml").read_text())["debug"], True)
        self.assertIn(["migrate", "--run-syncdb", "--noinput", "-v", "1"], commands)
        self.assertIn("migrations: running (changed: config_sha256)", self.lines)

    def test_failed_migration_leaves_the_state_unrecorded_so_the_next_run_retries(self):
        self.env["FAKE_FAIL_migrate"] = "1"
        with self.assertRaisesRegex(RuntimeFailure, "manage.py migrate --run-syncdb --noinput -v 1` failed with status 1"):
            self.run_setup()
        self.assertFalse((self.data / ".setup-state.json").exists())


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

    def test_empty_declaration_that_deactivates_undeclared_users_is_applied(self):
        self.write("store/users.json", '{"undeclared": "deactivate", "users": {}}')
        self.assertIn("inventree_runtime.users_apply", self.run_setup())
