from inventree_runtime.errors import RuntimeFailure
from inventree_runtime.users import Declaration, UserSpec, apply, parse_declaration, read_passwords

from .support import TempDirTestCase

ADMIN = {"email": "a@example.org", "is_superuser": True, "is_staff": True, "password_credential": "pw-admin"}


class ParseDeclarationTest(TempDirTestCase):
    def test_valid_declaration_is_parsed_with_defaults_for_missing_fields(self):
        declaration = parse_declaration({"users": {"admin": ADMIN, "viewer": {}}}, "users.json")
        self.assertEqual(declaration.undeclared, "keep")
        admin, viewer = declaration.users
        self.assertEqual(admin, UserSpec("admin", "a@example.org", True, True, True, "pw-admin"))
        self.assertEqual(viewer, UserSpec("viewer"))

    def test_unknown_undeclared_policy_is_rejected(self):
        with self.assertRaisesRegex(RuntimeFailure, "'undeclared' must be one of keep, deactivate, delete"):
            parse_declaration({"undeclared": "purge", "users": {}}, "users.json")

    def test_a_plain_password_field_is_rejected_as_unknown(self):
        with self.assertRaisesRegex(RuntimeFailure, "user 'admin': unknown key\\(s\\): password"):
            parse_declaration({"users": {"admin": {"password": "hunter2"}}}, "users.json")

    def test_non_boolean_flag_is_rejected(self):
        with self.assertRaisesRegex(RuntimeFailure, "'is_staff' must be true or false"):
            parse_declaration({"users": {"admin": {"is_staff": "yes"}}}, "users.json")

    def test_credential_name_with_a_slash_is_rejected(self):
        with self.assertRaisesRegex(RuntimeFailure, "credential name"):
            parse_declaration({"users": {"admin": {"password_credential": "../etc/shadow"}}}, "users.json")

    def test_every_problem_is_reported_at_once_with_the_file_name(self):
        with self.assertRaises(RuntimeFailure) as caught:
            parse_declaration({"undeclared": 1, "users": {"a": {"email": 3}, "b": {"is_active": None}}}, "/x/u.json")
        message = str(caught.exception)
        self.assertIn("/x/u.json is invalid", message)
        for fragment in ("'undeclared'", "user 'a': 'email'", "user 'b': 'is_active'"):
            self.assertIn(fragment, message)

    def test_top_level_must_be_an_object(self):
        with self.assertRaisesRegex(RuntimeFailure, "expected a JSON object"):
            parse_declaration([], "users.json")


class ReadPasswordsTest(TempDirTestCase):
    def declaration(self, **users):
        return parse_declaration({"users": users}, "users.json")

    def test_password_is_read_without_its_trailing_newline(self):
        self.write("creds/pw-admin", "s3cret\n")
        passwords = read_passwords(self.declaration(admin=ADMIN), self.tmp / "creds")
        self.assertEqual(passwords, {"admin": "s3cret"})

    def test_missing_password_file_is_named_with_its_user(self):
        (self.tmp / "creds").mkdir()
        with self.assertRaisesRegex(RuntimeFailure, r"password file of user 'admin' .*/creds/pw-admin does not exist"):
            read_passwords(self.declaration(admin=ADMIN), self.tmp / "creds")

    def test_empty_password_is_rejected(self):
        self.write("creds/pw-admin", "\n")
        with self.assertRaisesRegex(RuntimeFailure, "is empty"):
            read_passwords(self.declaration(admin=ADMIN), self.tmp / "creds")

    def test_passwords_without_credentials_directory_are_an_error(self):
        with self.assertRaisesRegex(RuntimeFailure, "CREDENTIALS_DIRECTORY is not set"):
            read_passwords(self.declaration(admin=ADMIN), None)


class FakeUser:
    """Just enough of Django's User; passwords stored as 'hashed:<raw>'."""

    def __init__(self, store, username):
        self.store, self.username = store, username
        self.email, self.is_superuser, self.is_staff, self.is_active = "", False, False, True
        self.password = None
        self.saves = 0

    def check_password(self, raw):
        return self.password == f"hashed:{raw}"

    def set_password(self, raw):
        self.password = f"hashed:{raw}"

    def set_unusable_password(self):
        self.password = "!unusable"

    def save(self):
        self.saves += 1
        self.store.users[self.username] = self

    def delete(self):
        del self.store.users[self.username]


class FakeStore:
    def __init__(self):
        self.users = {}

    def get(self, username):
        return self.users.get(username)

    def new(self, username):
        return FakeUser(self, username)

    def all(self):
        return list(self.users.values())


class ApplyTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.store = FakeStore()
        self.lines = []

    def run_apply(self, declaration, passwords):
        self.lines = []
        return apply(declaration, passwords, self.store, self.lines.append)

    def admin(self, undeclared="keep", **changes):
        return parse_declaration({"undeclared": undeclared, "users": {"admin": {**ADMIN, **changes}}}, "users.json")

    def test_declared_user_is_created_with_fields_and_password(self):
        self.assertEqual(self.run_apply(self.admin(), {"admin": "pw1"}), {"admin": "created"})
        user = self.store.users["admin"]
        self.assertEqual((user.email, user.is_superuser, user.is_staff, user.is_active), ("a@example.org", True, True, True))
        self.assertTrue(user.check_password("pw1"))
        self.assertEqual(self.lines, ["user admin: created"])

    def test_second_run_with_the_same_input_changes_nothing(self):
        self.run_apply(self.admin(), {"admin": "pw1"})
        saves = self.store.users["admin"].saves
        self.assertEqual(self.run_apply(self.admin(), {"admin": "pw1"}), {"admin": "unchanged"})
        self.assertEqual(self.store.users["admin"].saves, saves)

    def test_changed_password_file_rotates_the_password(self):
        self.run_apply(self.admin(), {"admin": "pw1"})
        self.assertEqual(self.run_apply(self.admin(), {"admin": "pw2"}), {"admin": "updated (password)"})
        self.assertTrue(self.store.users["admin"].check_password("pw2"))

    def test_changed_fields_are_named(self):
        self.run_apply(self.admin(), {"admin": "pw1"})
        outcome = self.run_apply(self.admin(email="b@example.org", is_staff=False), {"admin": "pw1"})
        self.assertEqual(outcome, {"admin": "updated (email, is_staff)"})

    def test_user_without_declared_password_gets_an_unusable_one(self):
        declaration = Declaration(users=(UserSpec("bot"),))
        self.run_apply(declaration, {})
        self.assertEqual(self.store.users["bot"].password, "!unusable")

    def test_password_set_elsewhere_is_kept_when_none_is_declared(self):
        declaration = Declaration(users=(UserSpec("bot"),))
        self.run_apply(declaration, {})
        self.store.users["bot"].set_password("chosen in the UI")
        self.assertEqual(self.run_apply(declaration, {}), {"bot": "unchanged"})
        self.assertTrue(self.store.users["bot"].check_password("chosen in the UI"))

    def test_undeclared_users_are_kept_by_default(self):
        self.store.new("alice").save()
        self.run_apply(self.admin(), {"admin": "pw1"})
        self.assertIn("alice", self.store.users)
        self.assertEqual(self.lines, ["user admin: created"])

    def test_undeclared_users_are_deactivated_when_asked(self):
        self.store.new("alice").save()
        outcome = self.run_apply(self.admin("deactivate"), {"admin": "pw1"})
        self.assertFalse(self.store.users["alice"].is_active)
        self.assertEqual(outcome["alice"], "deactivated (undeclared)")
        self.assertTrue(self.store.users["admin"].is_active)

    def test_undeclared_users_are_deleted_when_asked(self):
        self.store.new("alice").save()
        outcome = self.run_apply(self.admin("delete"), {"admin": "pw1"})
        self.assertEqual(sorted(self.store.users), ["admin"])
        self.assertEqual(outcome["alice"], "deleted (undeclared)")

    def test_no_output_line_contains_a_password(self):
        self.run_apply(self.admin(), {"admin": "pw-very-secret"})
        self.run_apply(self.admin(), {"admin": "pw-other-secret"})
        self.assertFalse([line for line in self.lines if "secret" in line])
