import unittest

from inventree_runtime import plugin_settings
from inventree_runtime.errors import RuntimeFailure
from inventree_runtime.users import parse_declaration


class FakePlugin:
    """A loaded plugin as SettingsMixin shows it: its SETTINGS and get/set_setting."""

    def __init__(self, settings, stored=None):
        self.settings = settings
        self.stored = dict(stored or {})
        self.writes = []

    def get_setting(self, key):
        return self.stored.get(key, self.settings[key].get("default"))

    def set_setting(self, key, value):
        self.writes.append((key, value))
        self.stored[key] = value


class PluginSettingsTest(unittest.TestCase):
    def apply(self, declared, plugins):
        lines = []
        plugin_settings.apply(declared, plugins.get, lines.append)
        return lines

    def test_a_changed_value_is_set_through_the_plugin_as_inventree_stores_it(self):
        kicad = FakePlugin({"KICAD_ENABLE_STOCK_COUNT": {"default": False}})
        lines = self.apply({"kicad": {"KICAD_ENABLE_STOCK_COUNT": True}}, {"kicad": kicad})
        self.assertEqual(kicad.writes, [("KICAD_ENABLE_STOCK_COUNT", "True")])
        self.assertEqual(lines, ["plugin settings: kicad: set KICAD_ENABLE_STOCK_COUNT"])

    def test_an_equal_value_is_not_written_again(self):
        kicad = FakePlugin({"LIMIT": {"default": 5}}, stored={"LIMIT": 5})
        lines = self.apply({"kicad": {"LIMIT": 5}}, {"kicad": kicad})
        self.assertEqual((kicad.writes, lines), ([], ["plugin settings: kicad: unchanged"]))

    def test_a_key_the_plugin_does_not_define_fails_listing_its_settings(self):
        kicad = FakePlugin({"A": {}, "B": {}})
        with self.assertRaisesRegex(RuntimeFailure, r"plugin 'kicad' has no setting TYPO; its settings: A, B"):
            self.apply({"kicad": {"TYPO": 1}}, {"kicad": kicad})
        self.assertEqual(kicad.writes, [])

    def test_a_plugin_that_is_not_loaded_fails_naming_it(self):
        with self.assertRaisesRegex(RuntimeFailure, r"'kicad', which is not a loaded plugin"):
            self.apply({"kicad": {"A": 1}}, {})

    def test_the_users_file_carries_them_and_rejects_non_scalar_values(self):
        declared = parse_declaration({"users": {}, "plugin_settings": {"kicad": {"A": True}}}, "users.json")
        self.assertEqual(declared.plugin_settings, {"kicad": {"A": True}})
        with self.assertRaisesRegex(RuntimeFailure, "must be a string, number or true/false"):
            parse_declaration({"plugin_settings": {"kicad": {"A": [1]}}}, "users.json")

    def test_a_users_file_without_them_declares_none(self):
        self.assertEqual(parse_declaration({"users": {}}, "users.json").plugin_settings, {})


if __name__ == "__main__":
    unittest.main()
