import json
import os
from unittest import mock

from inventree_runtime import setup, setup_check
from inventree_runtime.errors import RuntimeFailure

from .support import TempDirTestCase, fake_source


class SetupCheckTest(TempDirTestCase):
    """setup-check against the state a real setup run (fake manage.py) leaves behind."""

    def setUp(self):
        super().setUp()
        data = self.tmp / "data"
        self.config = self.write("store/config.json", json.dumps({"static_root": str(data / "static")}))
        self.env = {
            **os.environ,
            "INVENTREE_SRC": str(fake_source(self.tmp / "src")),
            "INVENTREE_DATA_DIR": str(data),
            "INVENTREE_CONFIG_FILE": str(data / "config.yaml"),
            "INVENTREE_CONFIG_SOURCE": str(self.config),
            "FAKE_MANAGE_LOG": str(self.tmp / "manage.log"),
        }
        # The migrate program needs Django; it is not what is tested here (a failure is made
        # by setting `self.migrate_fails`).
        self.migrate_fails = False
        patcher = mock.patch("inventree_runtime.django_manage.run_module", side_effect=self.fake_module)
        patcher.start()
        self.addCleanup(patcher.stop)

    def fake_module(self, *args, **kwargs):
        if self.migrate_fails:
            raise RuntimeFailure("migrate failed (fake)")
        return mock.Mock(returncode=0)

    def test_passes_after_a_completed_setup(self):
        setup.run(self.env, report=lambda line: None)
        self.assertIn("setup completed for InvenTree 1.3.5", setup_check.check(self.env))

    def test_fails_before_any_setup_pointing_at_the_setup_journal(self):
        with self.assertRaises(RuntimeFailure) as raised:
            setup_check.check(self.env)
        self.assertIn("no setup state", str(raised.exception))
        self.assertIn("journalctl -u inventree-setup", str(raised.exception))

    def test_fails_after_a_config_change_naming_the_config(self):
        setup.run(self.env, report=lambda line: None)
        self.config.write_text(json.dumps({"static_root": str(self.tmp / "data/static"), "debug": True}))
        with self.assertRaises(RuntimeFailure) as raised:
            setup_check.check(self.env)
        self.assertIn("changed: config", str(raised.exception))

    def test_fails_after_an_upgrade_whose_migration_failed(self):
        setup.run(self.env, report=lambda line: None)
        fake_source(self.tmp / "src-new", version="1.4.0")
        upgraded = {**self.env, "INVENTREE_SRC": str(self.tmp / "src-new")}
        self.migrate_fails = True
        with self.assertRaises(RuntimeFailure):
            setup.run(upgraded, report=lambda line: None)
        with self.assertRaises(RuntimeFailure) as raised:
            setup_check.check(upgraded)
        self.assertIn("changed: inventree_version, source", str(raised.exception))
