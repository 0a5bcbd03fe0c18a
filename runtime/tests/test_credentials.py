import os
from pathlib import Path

from inventree_runtime.credentials import load_credentials, read_secret_file, strip_one_newline
from inventree_runtime.errors import RuntimeFailure

from .support import TempDirTestCase


class StripOneNewlineTest(TempDirTestCase):
    def test_strips_a_single_trailing_newline(self):
        self.assertEqual(strip_one_newline("secret\n"), "secret")

    def test_keeps_a_second_trailing_newline(self):
        self.assertEqual(strip_one_newline("secret\n\n"), "secret\n")

    def test_strips_crlf_as_one_newline(self):
        self.assertEqual(strip_one_newline("secret\r\n"), "secret")

    def test_keeps_trailing_spaces_which_may_be_part_of_a_password(self):
        self.assertEqual(strip_one_newline("secret  \n"), "secret  ")


class LoadCredentialsTest(TempDirTestCase):
    def test_exports_inventree_credentials_without_the_trailing_newline(self):
        self.write("creds/INVENTREE_DB_PASSWORD", "db pass\n")
        env = {"CREDENTIALS_DIRECTORY": str(self.tmp / "creds")}
        self.assertEqual(load_credentials(env), ["INVENTREE_DB_PASSWORD"])
        self.assertEqual(env["INVENTREE_DB_PASSWORD"], "db pass")

    def test_ignores_credentials_not_named_inventree(self):
        self.write("creds/user-password-admin", "pw\n")
        env = {"CREDENTIALS_DIRECTORY": str(self.tmp / "creds")}
        self.assertEqual(load_credentials(env), [])
        self.assertNotIn("user-password-admin", env)

    def test_does_not_export_file_credentials_which_inventree_reads_by_path(self):
        self.write("creds/INVENTREE_SECRET_KEY_FILE", "key\n")
        env = {
            "CREDENTIALS_DIRECTORY": str(self.tmp / "creds"),
            "INVENTREE_SECRET_KEY_FILE": str(self.tmp / "creds/INVENTREE_SECRET_KEY_FILE"),
        }
        load_credentials(env)
        self.assertEqual(env["INVENTREE_SECRET_KEY_FILE"], str(self.tmp / "creds/INVENTREE_SECRET_KEY_FILE"))

    def test_credential_overrides_an_inherited_variable(self):
        self.write("creds/INVENTREE_CACHE_PASSWORD", "new")
        env = {"CREDENTIALS_DIRECTORY": str(self.tmp / "creds"), "INVENTREE_CACHE_PASSWORD": "old"}
        load_credentials(env)
        self.assertEqual(env["INVENTREE_CACHE_PASSWORD"], "new")

    def test_without_credentials_directory_nothing_is_exported(self):
        env = {"PATH": "/bin"}
        self.assertEqual(load_credentials(env), [])
        self.assertEqual(env, {"PATH": "/bin"})

    def test_missing_credentials_directory_is_an_error_naming_it(self):
        env = {"CREDENTIALS_DIRECTORY": str(self.tmp / "absent")}
        with self.assertRaisesRegex(RuntimeFailure, "absent"):
            load_credentials(env)

    def test_dangling_credential_is_an_error_naming_the_file(self):
        (self.tmp / "creds").mkdir()
        os.symlink(self.tmp / "nowhere", self.tmp / "creds/INVENTREE_DB_PASSWORD")
        env = {"CREDENTIALS_DIRECTORY": str(self.tmp / "creds")}
        with self.assertRaisesRegex(RuntimeFailure, "INVENTREE_DB_PASSWORD does not exist"):
            load_credentials(env)


class ReadSecretFileTest(TempDirTestCase):
    def test_directory_instead_of_file_is_named(self):
        (self.tmp / "pw").mkdir()
        with self.assertRaisesRegex(RuntimeFailure, r"password .*/pw is a directory"):
            read_secret_file(self.tmp / "pw", "password")

    def test_non_utf8_content_is_named(self):
        path = self.tmp / "pw"
        path.write_bytes(b"\xff\xfe")
        with self.assertRaisesRegex(RuntimeFailure, "not UTF-8"):
            read_secret_file(Path(path))
