import json
import os

from inventree_runtime import restore
from inventree_runtime.errors import RuntimeFailure

from .support import TempDirTestCase, fake_source, read_log


class RestoreTest(TempDirTestCase):
    """restore against a fake InvenTree tree whose manage.py only records its arguments."""

    def setUp(self):
        super().setUp()
        self.data = self.tmp / "data"
        self.backups = self.tmp / "backup"
        self.backups.mkdir()
        config = self.write("store/config.json", json.dumps({"backup_dir": str(self.backups)}))
        self.log = self.tmp / "manage.log"
        self.env = {
            **os.environ,
            "INVENTREE_SRC": str(fake_source(self.tmp / "src")),
            "INVENTREE_DATA_DIR": str(self.data),
            "INVENTREE_CONFIG_FILE": str(self.data / "config.yaml"),
            "INVENTREE_CONFIG_SOURCE": str(config),
            "FAKE_MANAGE_LOG": str(self.log),
        }
        self.state = self.write("data/.setup-state.json", "{}")
        self.lines = []

    def backup(self, name, age):
        path = self.write(f"backup/{name}", "x")
        os.utime(path, (1_700_000_000 - age, 1_700_000_000 - age))
        return path

    def run_restore(self, **names):
        restore.run(self.env, report=self.lines.append, **names)
        return read_log(self.log)

    def test_restores_the_newest_database_and_media_backup(self):
        self.backup("InvenTree-db-2026-01-01-000000.psql.bin.gz", age=200)
        self.backup("InvenTree-db-2026-01-02-000000.psql.bin.gz", age=100)
        self.backup("InvenTree-media-2026-01-01-000000.tar.gz", age=200)
        self.backup("InvenTree-media-2026-01-02-000000.tar.gz", age=100)
        self.assertEqual(
            self.run_restore(),
            [
                ["dbrestore", "--noinput", "-v", "1", "--input-filename",
                 "InvenTree-db-2026-01-02-000000.psql.bin.gz", "--uncompress"],
                ["mediarestore", "--noinput", "-v", "1", "--input-filename",
                 "InvenTree-media-2026-01-02-000000.tar.gz", "--replace", "--uncompress"],
            ],
        )  # fmt: skip

    def test_the_metadata_sidecar_written_after_a_dump_is_not_taken_for_the_newest_backup(self):
        # Found by the systemd tier: dbbackup writes `<dump>.metadata` after the dump.
        self.backup("InvenTree-db-2026-01-02-000000.sqlite3.gz", age=100)
        self.backup("InvenTree-db-2026-01-02-000000.sqlite3.gz.metadata", age=90)
        self.backup("InvenTree-media-2026-01-02-000000.tar.gz", age=100)
        commands = self.run_restore()
        self.assertEqual(commands[0][5], "InvenTree-db-2026-01-02-000000.sqlite3.gz")

    def test_named_backups_win_over_newer_ones(self):
        self.backup("InvenTree-db-old.sqlite3", age=200)
        self.backup("InvenTree-db-new.sqlite3", age=100)
        self.backup("InvenTree-media-old.tar", age=200)
        commands = self.run_restore(database="InvenTree-db-old.sqlite3", media="InvenTree-media-old.tar")
        self.assertEqual([c[5] for c in commands], ["InvenTree-db-old.sqlite3", "InvenTree-media-old.tar"])

    def test_uncompressed_backup_is_restored_without_uncompress(self):
        self.backup("InvenTree-db-a.sqlite3", age=1)
        self.backup("InvenTree-media-a.tar", age=1)
        self.assertNotIn("--uncompress", self.run_restore()[0])

    def test_clears_the_setup_state_so_the_next_setup_migrates(self):
        self.backup("InvenTree-db-a.sqlite3", age=1)
        self.backup("InvenTree-media-a.tar", age=1)
        self.run_restore()
        self.assertFalse(self.state.exists())
        self.assertIn("setup state: cleared (the next setup migrates the restored database)", self.lines)

    def test_failed_database_restore_stops_before_media_with_the_state_cleared(self):
        self.backup("InvenTree-db-a.sqlite3", age=1)
        self.backup("InvenTree-media-a.tar", age=1)
        self.env["FAKE_FAIL_dbrestore"] = "1"
        with self.assertRaises(RuntimeFailure) as raised:
            self.run_restore()
        self.assertIn("manage.py dbrestore", str(raised.exception))
        self.assertEqual([c[0] for c in read_log(self.log)], ["dbrestore"])
        self.assertFalse(self.state.exists())

    def test_missing_media_backup_is_named_before_anything_changes(self):
        self.backup("InvenTree-db-a.sqlite3", age=1)
        with self.assertRaises(RuntimeFailure) as raised:
            self.run_restore()
        self.assertEqual(str(raised.exception), f"no media backup (InvenTree-media-*) in {self.backups}")
        self.assertTrue(self.state.exists())
        self.assertEqual(read_log(self.log), [])

    def test_named_backup_outside_the_backup_directory_is_refused(self):
        self.backup("InvenTree-media-a.tar", age=1)
        self.write("elsewhere/InvenTree-db-a.sqlite3", "x")
        with self.assertRaises(RuntimeFailure) as raised:
            self.run_restore(database="../elsewhere/InvenTree-db-a.sqlite3")
        self.assertIn("is not a file directly in the backup directory", str(raised.exception))

    def test_plan_names_the_backups_and_changes_nothing(self):
        self.backup("InvenTree-db-a.sqlite3", age=1)
        self.backup("InvenTree-media-a.tar", age=1)
        restore.run(self.env, report=self.lines.append, plan_only=True)
        self.assertEqual(
            self.lines,
            [
                f"would restore database from {self.backups / 'InvenTree-db-a.sqlite3'}",
                f"would restore media from {self.backups / 'InvenTree-media-a.tar'}",
            ],
        )
        self.assertTrue(self.state.exists())
        self.assertEqual(read_log(self.log), [])
