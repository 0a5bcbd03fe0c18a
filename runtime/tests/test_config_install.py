import os
from unittest import mock

from inventree_runtime.config_install import install_config
from inventree_runtime.errors import RuntimeFailure

from .support import TempDirTestCase


class InstallConfigTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.source = self.write("store/config.json", '{"debug": false}')
        self.target = self.tmp / "data" / "config.yaml"

    def test_first_install_writes_the_content_with_mode_0640(self):
        self.assertTrue(install_config(self.source, self.target))
        self.assertEqual(self.target.read_text(), '{"debug": false}')
        self.assertEqual(self.target.stat().st_mode & 0o777, 0o640)

    def test_second_install_of_the_same_content_touches_nothing(self):
        install_config(self.source, self.target)
        before = self.target.stat()
        self.assertFalse(install_config(self.source, self.target))
        after = self.target.stat()
        self.assertEqual((before.st_ino, before.st_mtime_ns), (after.st_ino, after.st_mtime_ns))

    def test_changed_content_replaces_the_file_by_rename(self):
        install_config(self.source, self.target)
        inode = self.target.stat().st_ino
        self.source.write_text('{"debug": true}')
        self.assertTrue(install_config(self.source, self.target))
        self.assertEqual(self.target.read_text(), '{"debug": true}')
        self.assertNotEqual(self.target.stat().st_ino, inode)

    def test_wrong_mode_is_corrected(self):
        install_config(self.source, self.target)
        os.chmod(self.target, 0o644)
        self.assertTrue(install_config(self.source, self.target))
        self.assertEqual(self.target.stat().st_mode & 0o777, 0o640)

    def test_no_temporary_file_is_left_behind(self):
        install_config(self.source, self.target)
        self.assertEqual(sorted(p.name for p in self.target.parent.iterdir()), ["config.yaml"])

    def test_failed_rename_keeps_the_old_config_and_leaves_no_temporary(self):
        install_config(self.source, self.target)
        self.source.write_text('{"debug": true}')
        with mock.patch("os.replace", side_effect=OSError(28, "No space left on device")):
            with self.assertRaises(RuntimeFailure):
                install_config(self.source, self.target)
        self.assertEqual(self.target.read_text(), '{"debug": false}')
        self.assertEqual(sorted(p.name for p in self.target.parent.iterdir()), ["config.yaml"])

    def test_unreadable_source_is_named(self):
        with self.assertRaisesRegex(RuntimeFailure, "rendered config .*absent.json"):
            install_config(self.tmp / "absent.json", self.target)
