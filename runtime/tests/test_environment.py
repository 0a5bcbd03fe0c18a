import os

from inventree_runtime.environment import SetupPaths, Source, child_env, configured_dirs
from inventree_runtime.errors import RuntimeFailure

from .support import TempDirTestCase, fake_source


class SourceTest(TempDirTestCase):
    def test_missing_src_variable_says_what_it_must_name(self):
        with self.assertRaisesRegex(RuntimeFailure, "INVENTREE_SRC is not set: it must name the InvenTree source root"):
            Source.from_env({})

    def test_tree_without_manage_py_is_rejected_naming_the_expected_path(self):
        with self.assertRaisesRegex(RuntimeFailure, "src/backend/InvenTree/manage.py does not exist"):
            Source.from_env({"INVENTREE_SRC": str(self.tmp)})

    def test_version_is_read_from_version_py(self):
        source = Source.from_env({"INVENTREE_SRC": str(fake_source(self.tmp / "src", "1.3.5"))})
        self.assertEqual(source.version(), "1.3.5")


class SetupPathsTest(TempDirTestCase):
    def env(self, **extra):
        return {
            "INVENTREE_SRC": str(fake_source(self.tmp / "src")),
            "INVENTREE_DATA_DIR": str(self.tmp / "data"),
            "INVENTREE_CONFIG_FILE": str(self.tmp / "data/config.yaml"),
            "INVENTREE_CONFIG_SOURCE": str(self.tmp / "config.json"),
            **extra,
        }

    def test_secret_key_defaults_to_a_generated_file_in_the_data_dir(self):
        paths = SetupPaths.from_env(self.env())
        self.assertEqual(paths.secret_key_file, self.tmp / "data/secret_key.txt")
        self.assertTrue(paths.secret_key_is_generated)

    def test_secret_key_credential_is_not_generated(self):
        paths = SetupPaths.from_env(self.env(INVENTREE_SECRET_KEY_FILE=str(self.tmp / "creds/INVENTREE_SECRET_KEY_FILE")))
        self.assertFalse(paths.secret_key_is_generated)

    def test_missing_config_source_is_named(self):
        env = self.env()
        del env["INVENTREE_CONFIG_SOURCE"]
        with self.assertRaisesRegex(RuntimeFailure, "INVENTREE_CONFIG_SOURCE is not set"):
            SetupPaths.from_env(env)


class ConfiguredDirsTest(TempDirTestCase):
    def test_environment_overrides_the_config_as_in_inventree(self):
        dirs = configured_dirs({"static_root": "/a", "media_root": "/m"}, {"INVENTREE_STATIC_ROOT": "/b"})
        self.assertEqual({k: str(v) for k, v in dirs.items()}, {"static_root": "/b", "media_root": "/m"})


class ChildEnvTest(TempDirTestCase):
    def test_interpreter_bin_comes_first_on_path_and_runtime_is_importable(self):
        env = child_env({"PATH": "/usr/bin:/venv/bin"}, "/venv/bin/python")
        self.assertEqual(env["PATH"], "/venv/bin" + os.pathsep + "/usr/bin")
        self.assertTrue(os.path.isdir(os.path.join(env["PYTHONPATH"].split(os.pathsep)[0], "inventree_runtime")))
