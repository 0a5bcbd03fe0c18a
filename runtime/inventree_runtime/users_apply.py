"""Apply the declared users inside Django: `python -m inventree_runtime.users_apply`.

InvenTree decides how to start from sys.argv, and this program needs two of
its modes in turn:
- start-up as a migration-state reader (argv `showmigrations`): no ready()
  hook touches the database, and InvenTree does not exit with INVE-W8 when
  migrations are unapplied;
- applying as a neutral program (no command in argv): InvenTree's post-save
  hooks then run, so a new user gets its profile. Under `manage.py shell`,
  which InvenTree treats as read-only, they do not, and every API request of
  such a user fails with "User has no profile".

Declared plugin settings (in the same file) are applied in the same
transaction, through the loaded plugins (plugin_settings.py).

Kept apart from `users` so that everything else imports without Django.
Reads INVENTREE_USERS_FILE and the password credentials itself, so no
password crosses a process boundary.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from . import plugin_settings, users
from .django_program import exit_with_error, setup_django
from .errors import RuntimeFailure


class DjangoUserStore:
    """`users.UserStore` over Django's user model."""

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model

        self.model = get_user_model()

    def get(self, username):
        return self.model.objects.filter(username=username).first()

    def new(self, username):
        return self.model(username=username)

    def all(self):
        return list(self.model.objects.all())


# SQLite: while the server and the worker run (refresh-users), a write can meet
# "database is locked"; the whole transaction is rolled back, so retrying is safe.
LOCKED_ATTEMPTS = 8


def apply_with_retry(apply) -> list[str]:
    """Run `apply(report)` in one transaction, retried while the database is locked.

    Lines are printed only once the transaction committed, so the output
    says what actually happened.
    """
    from django.db import OperationalError, transaction

    for attempt in range(1, LOCKED_ATTEMPTS + 1):
        lines: list[str] = []
        try:
            # All or nothing: a failure halfway leaves the users as they were.
            with transaction.atomic():
                apply(lines.append)
        except OperationalError as err:
            if "locked" not in str(err) or attempt == LOCKED_ATTEMPTS:
                raise RuntimeFailure(f"applying the declared users failed: {err}") from None
            time.sleep(0.25 * attempt)
            continue
        for line in lines:
            print(line, flush=True)
        return lines
    return []


def apply_declared() -> None:
    """Apply INVENTREE_USERS_FILE with the passwords of $CREDENTIALS_DIRECTORY (Django set up, argv neutral)."""
    declaration = users.load_declaration(Path(os.environ["INVENTREE_USERS_FILE"]))
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    passwords = users.read_passwords(declaration, Path(credentials) if credentials else None)
    def apply(report):
        users.apply(declaration, passwords, DjangoUserStore(), report)
        if declaration.plugin_settings:
            from plugin import registry

            plugin_settings.apply(declaration.plugin_settings, registry.get_plugin, report)

    apply_with_retry(apply)


def main() -> None:
    setup_django()
    try:
        apply_declared()
    except RuntimeFailure as failure:
        exit_with_error(str(failure))


if __name__ == "__main__":
    main()
