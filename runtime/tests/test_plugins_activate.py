import unittest

from inventree_runtime.plugins_activate import describe_errors, ensure_rows, missing_plugins


class FakeRows:
    def __init__(self, stored):
        self.stored = dict(stored)

    def get_or_create(self, key, defaults):
        if key in self.stored:
            return self.stored[key], False
        self.stored[key] = dict(defaults)
        return self.stored[key], True


class FakeConfigModel:
    """PluginConfig as ensure_rows sees it."""

    def __init__(self, stored=()):
        self.objects = FakeRows({key: {} for key in stored})


class FakePlugin:
    def __init__(self, name):
        self.NAME = name


class PluginsActivateTest(unittest.TestCase):
    def test_declared_plugins_the_registry_did_not_load_are_missing_in_declared_order(self):
        self.assertEqual(
            missing_plugins(["kicad-library-plugin", "broken", "other"], ["bom-exporter", "kicad-library-plugin"]),
            ["broken", "other"],
        )

    def test_registry_errors_are_one_line_each_with_stage_module_and_message(self):
        errors = {
            "discovery": [{"broken_plugin": "No module named 'missing'"}],
            "init_plugins": [{"": "'NoneType' object has no attribute 'name'"}],
        }
        self.assertEqual(
            describe_errors(errors),
            "discovery: broken_plugin: No module named 'missing'; "
            "init_plugins: (unknown module): 'NoneType' object has no attribute 'name'",
        )

    def test_a_row_is_made_for_each_plugin_without_one_and_existing_rows_are_kept(self):
        model = FakeConfigModel(stored=["bom-exporter"])
        created = ensure_rows(
            model,
            [FakePlugin("BomExporter"), FakePlugin("KiCadLibraryPlugin")],
            slug_of=lambda p: {"BomExporter": "bom-exporter", "KiCadLibraryPlugin": "kicad-library-plugin"}[p.NAME],
        )
        self.assertEqual(created, ["kicad-library-plugin"])
        self.assertEqual(model.objects.stored["kicad-library-plugin"], {"name": "KiCadLibraryPlugin"})
        self.assertEqual(model.objects.stored["bom-exporter"], {})


if __name__ == "__main__":
    unittest.main()
