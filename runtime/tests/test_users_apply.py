"""users_apply's transaction retry, against a stand-in for django.db (no Django needed)."""

import contextlib
import io
import sys
import types
from unittest import mock

from inventree_runtime import users_apply
from inventree_runtime.errors import RuntimeFailure

from .support import TempDirTestCase


class OperationalError(Exception):
    pass


def fake_django_db():
    db = types.ModuleType("django.db")
    db.OperationalError = OperationalError
    db.transaction = types.SimpleNamespace(atomic=contextlib.nullcontext)
    django = types.ModuleType("django")
    django.db = db
    return {"django": django, "django.db": db}


class ApplyWithRetryTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        patches = [mock.patch.dict(sys.modules, fake_django_db()), mock.patch("time.sleep")]
        for patcher in patches:
            patcher.start()
            self.addCleanup(patcher.stop)
        self.out = io.StringIO()

    def run_retry(self, apply):
        with contextlib.redirect_stdout(self.out):
            return users_apply.apply_with_retry(apply)

    def test_locked_database_is_retried_and_only_the_committed_attempt_is_printed(self):
        attempts = []

        def apply(report):
            attempts.append(1)
            report(f"user admin: attempt {len(attempts)}")
            if len(attempts) < 3:
                raise OperationalError("database is locked")

        self.assertEqual(self.run_retry(apply), ["user admin: attempt 3"])
        self.assertEqual(self.out.getvalue(), "user admin: attempt 3\n")

    def test_other_database_errors_fail_at_once(self):
        attempts = []

        def apply(report):
            attempts.append(1)
            raise OperationalError("no such table: auth_user")

        with self.assertRaisesRegex(RuntimeFailure, "no such table"):
            self.run_retry(apply)
        self.assertEqual(len(attempts), 1)
        self.assertEqual(self.out.getvalue(), "")

    def test_a_database_locked_for_good_fails_after_the_last_attempt(self):
        def apply(report):
            raise OperationalError("database is locked")

        with self.assertRaisesRegex(RuntimeFailure, "database is locked"):
            self.run_retry(apply)
