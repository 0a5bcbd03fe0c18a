from inventree_runtime.secret import ALPHABET, KEY_LENGTH, create_key_file, generate_key

from .support import TempDirTestCase


class GenerateKeyTest(TempDirTestCase):
    def test_key_has_the_length_and_alphabet_django_expects(self):
        key = generate_key()
        self.assertEqual(len(key), KEY_LENGTH)
        self.assertTrue(set(key) <= set(ALPHABET))

    def test_keys_differ(self):
        self.assertNotEqual(generate_key(), generate_key())


class CreateKeyFileTest(TempDirTestCase):
    def test_absent_key_is_created_with_mode_0600(self):
        path = self.tmp / "data" / "secret_key.txt"
        self.assertTrue(create_key_file(path))
        self.assertEqual(path.stat().st_mode & 0o777, 0o600)
        self.assertEqual(len(path.read_text().strip()), KEY_LENGTH)

    def test_existing_key_is_never_replaced(self):
        path = self.write("secret_key.txt", "existing\n")
        self.assertFalse(create_key_file(path))
        self.assertEqual(path.read_text(), "existing\n")

    def test_no_temporary_file_is_left_behind(self):
        create_key_file(self.tmp / "secret_key.txt")
        self.assertEqual([p.name for p in self.tmp.iterdir()], ["secret_key.txt"])
