"""Apply the declared users inside Django (run by `manage.py shell -c`).

Kept apart from `users` so that everything else imports without Django.
Reads INVENTREE_USERS_FILE and the password credentials itself, so no
password crosses a process boundary.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import users
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


def main() -> None:
    from django.db import transaction

    try:
        declaration = users.load_declaration(Path(os.environ["INVENTREE_USERS_FILE"]))
        credentials = os.environ.get("CREDENTIALS_DIRECTORY")
        passwords = users.read_passwords(declaration, Path(credentials) if credentials else None)
        # All or nothing: a failure halfway leaves the users as they were.
        with transaction.atomic():
            users.apply(declaration, passwords, DjangoUserStore(), report=lambda line: print(line, flush=True))
    except RuntimeFailure as failure:
        print(f"inventree-runtime: error: {failure}", file=sys.stderr)
        sys.exit(1)
