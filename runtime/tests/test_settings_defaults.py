from inventree_runtime.errors import RuntimeFailure
from inventree_runtime.settings_defaults import missing_keys, store_defaults

from .support import TempDirTestCase


class FakeRows:
    def __init__(self, model):
        self.model = model

    def values_list(self, field, flat=False):
        assert (field, flat) == ("key", True)
        return list(self.model.stored)


class FakeSettingModel:
    """InvenTreeSetting as settings_defaults sees it: SETTINGS, the stored keys, build_default_values()."""

    SETTINGS = {"LOGIN_ENFORCE_MFA": {}, "INVENTREE_INSTANCE": {}, "_PLUGIN_REGISTRY_HASH": {}}

    def __init__(self, stored=(), builds=True):
        self.stored = set(stored)
        self.builds = builds
        self.objects = FakeRows(self)
        self.built = 0

    def build_default_values(self):
        self.built += 1
        if self.builds:
            self.stored |= {k for k in self.SETTINGS if not k.startswith("_")}


class SettingsDefaultsTest(TempDirTestCase):
    def test_missing_keys_ignore_private_settings(self):
        model = FakeSettingModel(stored={"INVENTREE_INSTANCE"})
        self.assertEqual(missing_keys(model), {"LOGIN_ENFORCE_MFA"})

    def test_fresh_database_gets_every_default_stored_without_save_hooks(self):
        model = FakeSettingModel()
        self.assertEqual(store_defaults(model), "settings: stored 2 global defaults")
        self.assertEqual(model.built, 1)
        self.assertIn("LOGIN_ENFORCE_MFA", model.stored)

    def test_complete_database_is_left_alone(self):
        model = FakeSettingModel(stored={"LOGIN_ENFORCE_MFA", "INVENTREE_INSTANCE"})
        self.assertEqual(store_defaults(model), "settings: all 2 global settings present")
        self.assertEqual(model.built, 0)

    def test_defaults_inventree_failed_to_store_stop_setup_naming_them(self):
        model = FakeSettingModel(builds=False)
        with self.assertRaisesRegex(RuntimeFailure, "still missing: INVENTREE_INSTANCE, LOGIN_ENFORCE_MFA"):
            store_defaults(model)
