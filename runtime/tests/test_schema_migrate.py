"""The migrate program against stand-ins for Django (no Django needed)."""

import contextlib
import io
import sys
import types
from unittest import mock

from inventree_runtime import schema_migrate
from inventree_runtime.errors import RuntimeFailure
from inventree_runtime.schema_migrate import MIGRATION_STEPS, NEWER_DATABASE_STATUS, unknown_applied

from .support import TempDirTestCase
from .test_queue_prune import FakeQueue
from .test_settings_defaults import FakeSettingModel


class UnknownAppliedTest(TempDirTestCase):
    ON_DISK = [("part", "0001_initial"), ("part", "0002_more"), ("stock", "0001_initial")]

    def test_applied_migration_the_tree_lacks_is_named(self):
        applied = [*self.ON_DISK, ("part", "0003_newer"), ("stock", "0002_newer")]
        self.assertEqual(unknown_applied(applied, self.ON_DISK, []), ["part.0003_newer", "stock.0002_newer"])

    def test_migrations_of_an_app_the_tree_does_not_have_are_ignored(self):
        self.assertEqual(unknown_applied([*self.ON_DISK, ("removed_plugin", "0001_initial")], self.ON_DISK, []), [])

    def test_migrations_replaced_by_a_squash_of_the_tree_are_known(self):
        applied = [*self.ON_DISK, ("part", "0000_squashed_away")]
        self.assertEqual(unknown_applied(applied, self.ON_DISK, [("part", "0000_squashed_away")]), [])

    def test_database_behind_the_tree_has_nothing_unknown(self):
        self.assertEqual(unknown_applied(self.ON_DISK[:1], self.ON_DISK, []), [])


class MainTest(TempDirTestCase):
    """main() with Django's start, migration loader and management commands replaced."""

    def setUp(self):
        super().setUp()
        self.calls = []
        self.settings = FakeSettingModel()
        management = types.ModuleType("django.core.management")
        management.execute_from_command_line = lambda argv: self.calls.append(("command", list(argv), list(sys.argv)))
        common_models = types.ModuleType("common.models")
        common_models.InvenTreeSetting = self.settings
        self.queue = FakeQueue({"id": "*BadSignature"}, {"id": "t1", "func": "f"})
        django_q_models = types.ModuleType("django_q.models")
        django_q_models.OrmQ = self.queue
        modules = {
            "django_q": types.ModuleType("django_q"),
            "django_q.models": django_q_models,
            "django": types.ModuleType("django"),
            "django.core": types.ModuleType("django.core"),
            "django.core.management": management,
            "common": types.ModuleType("common"),
            "common.models": common_models,
        }
        self.unknown = []
        self.plugins = None
        self.vendor = "sqlite"
        patches = [
            mock.patch.dict(sys.modules, modules),
            mock.patch.object(sys, "argv", ["schema_migrate.py"]),
            mock.patch.object(schema_migrate, "start_django", lambda argv: self.calls.append(("start", list(argv)))),
            mock.patch.object(schema_migrate, "newer_migrations", lambda: self.unknown),
            mock.patch.object(schema_migrate.migration_lock, "django_vendor", lambda: self.vendor),
            mock.patch.object(schema_migrate.migration_lock, "django_connection", self.lock_connection),
            mock.patch.object(schema_migrate, "activate_declared", self.activate_plugins),
            mock.patch(
                "inventree_runtime.users_apply.apply_declared", lambda: self.calls.append(("users", list(sys.argv)))
            ),
        ]
        for patcher in patches:
            patcher.start()
            self.addCleanup(patcher.stop)
        self.out = io.StringIO()
        self.err = io.StringIO()

    def lock_connection(self):
        from .test_migration_lock import FakeConnection

        connection = FakeConnection(free=True, on_execute=lambda sql: self.calls.append(("sql", sql.split("(")[0])))
        return connection

    def activate_plugins(self):
        self.calls.append(("plugins",))
        if isinstance(self.plugins, Exception):
            raise self.plugins
        return self.plugins

    def run_main(self, *args):
        with contextlib.redirect_stdout(self.out), contextlib.redirect_stderr(self.err):
            schema_migrate.main(list(args))

    def test_queued_tasks_signed_with_another_key_are_dropped_after_migrating(self):
        self.run_main()
        self.assertIn("queue: dropped 1 of 2 queued tasks", self.out.getvalue())
        self.assertEqual([row.task["id"] for row in self.queue.rows], ["t1"])

    def test_django_starts_once_as_migrate(self):
        self.run_main()
        starts = [call for call in self.calls if call[0] == "start"]
        self.assertEqual(starts, [("start", ["manage.py", "migrate", "--run-syncdb", "--noinput"])])

    def test_each_step_runs_with_its_own_command_as_sys_argv(self):
        self.run_main()
        commands = [call for call in self.calls if call[0] == "command"]
        expected = [["manage.py", *step, "-v", "1"] for step in MIGRATION_STEPS]
        self.assertEqual([argv for _, argv, _ in commands], expected)
        self.assertEqual([seen for _, _, seen in commands], expected)

    def test_declared_plugins_are_activated_after_migrating_then_their_apps_are_migrated(self):
        self.plugins = "plugins: active kicad-library-plugin (apps: inventree_kicad)"
        self.run_main()
        order = [call[1][1] if call[0] == "command" else call[0] for call in self.calls]
        self.assertEqual(
            order,
            ["start", "migrate", "plugins", "migrate", "remove_stale_contenttypes", "rebuild_models", "rebuild_thumbnails"],
        )
        self.assertIn("plugins: active kicad-library-plugin", self.out.getvalue())

    def test_on_postgresql_the_whole_sequence_runs_under_the_migration_lock(self):
        self.vendor = "postgresql"
        self.run_main("--apply-users")
        order = [call[1][1] if call[0] == "command" else call[1] if call[0] == "sql" else call[0] for call in self.calls]
        self.assertEqual(order[0], "start")
        self.assertEqual(order[1], "SELECT pg_try_advisory_lock")
        self.assertEqual(order[-1], "SELECT pg_advisory_unlock")
        self.assertEqual(order[-2], "users")
        self.assertIn("migrations: lock taken (PostgreSQL advisory lock", self.out.getvalue())

    def test_without_plugins_migrate_runs_once(self):
        self.run_main()
        commands = [call[1][1] for call in self.calls if call[0] == "command"]
        self.assertEqual(commands.count("migrate"), 1)

    def test_a_declared_plugin_that_does_not_load_stops_before_the_post_steps_naming_it(self):
        self.plugins = RuntimeFailure("declared plugin(s) did not load: broken-plugin")
        with self.assertRaises(SystemExit) as exited:
            self.run_main("--apply-users")
        self.assertEqual(exited.exception.code, 1)
        self.assertIn("did not load: broken-plugin", self.err.getvalue())
        self.assertNotIn("rebuild_models", [call[1][1] for call in self.calls if call[0] == "command"])
        self.assertEqual(self.settings.built, 0)

    def test_settings_defaults_are_stored_after_migrating(self):
        self.run_main()
        self.assertEqual(self.settings.built, 1)
        self.assertIn("settings: stored 2 global defaults", self.out.getvalue())

    def test_users_are_applied_last_with_a_neutral_argv_when_asked(self):
        self.run_main("--apply-users")
        self.assertEqual(self.calls[-1], ("users", ["schema_migrate.py"]))

    def test_users_are_not_applied_unless_asked(self):
        self.run_main()
        self.assertNotIn("users", [call[0] for call in self.calls])

    def test_database_newer_than_the_tree_is_refused_before_any_command_naming_its_migrations(self):
        self.unknown = ["part.0142_newer"]
        with self.assertRaises(SystemExit) as exited:
            self.run_main("--apply-users")
        self.assertEqual(exited.exception.code, NEWER_DATABASE_STATUS)
        self.assertEqual([call[0] for call in self.calls], ["start"])
        self.assertIn("part.0142_newer", self.err.getvalue())
        self.assertEqual(self.settings.built, 0)
