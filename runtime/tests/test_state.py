from pathlib import Path

from inventree_runtime.state import SetupState, decide_migrations, read_state, write_state

from .support import TempDirTestCase

CURRENT = SetupState.of("1.3.5", Path("/nix/store/aaa-inventree-src"), b'{"debug": false}')


def never_called():
    raise AssertionError("the pending check must not run when the state changed")


class DecideMigrationsTest(TempDirTestCase):
    def test_first_setup_migrates_without_asking_django(self):
        decision = decide_migrations(CURRENT, None, never_called)
        self.assertTrue(decision.migrate)
        self.assertIn("no previous setup", decision.reason)

    def test_new_version_migrates_and_names_the_version(self):
        recorded = SetupState("1.3.4", CURRENT.source, CURRENT.config_sha256)
        decision = decide_migrations(CURRENT, recorded, never_called)
        self.assertTrue(decision.migrate)
        self.assertEqual(decision.reason, "changed: inventree_version")

    def test_new_source_path_migrates(self):
        recorded = SetupState(CURRENT.inventree_version, "/nix/store/bbb-inventree-src", CURRENT.config_sha256)
        self.assertEqual(decide_migrations(CURRENT, recorded, never_called).reason, "changed: source")

    def test_changed_config_migrates(self):
        recorded = SetupState.of("1.3.5", Path("/nix/store/aaa-inventree-src"), b'{"debug": true}')
        self.assertEqual(decide_migrations(CURRENT, recorded, never_called).reason, "changed: config_sha256")

    def test_unchanged_state_with_pending_migrations_migrates(self):
        decision = decide_migrations(CURRENT, CURRENT, lambda: True)
        self.assertTrue(decision.migrate)
        self.assertIn("unapplied", decision.reason)

    def test_unchanged_state_without_pending_migrations_skips(self):
        self.assertFalse(decide_migrations(CURRENT, CURRENT, lambda: False).migrate)


class StateFileTest(TempDirTestCase):
    def test_written_state_reads_back_equal(self):
        write_state(self.tmp / "state.json", CURRENT)
        self.assertEqual(read_state(self.tmp / "state.json"), CURRENT)

    def test_missing_state_file_means_no_previous_setup(self):
        self.assertIsNone(read_state(self.tmp / "state.json"))

    def test_damaged_state_file_means_no_previous_setup(self):
        self.write("state.json", '{"inventree_version": "1.3.5"')
        self.assertIsNone(read_state(self.tmp / "state.json"))

    def test_state_file_missing_a_field_means_no_previous_setup(self):
        self.write("state.json", '{"inventree_version": "1.3.5", "source": "/x"}')
        self.assertIsNone(read_state(self.tmp / "state.json"))
