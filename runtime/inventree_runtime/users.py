"""Declared users: the users file, its validation, and how to apply it.

The file (INVENTREE_USERS_FILE, JSON, no passwords) is documented in
docs/ARCHITECTURE.md. This module is stdlib only; `users_apply` binds it to
Django's user model inside a `manage.py shell` process.

Applying is idempotent: fields are written only when they differ and a
password only when `check_password` fails, so a second run with the same
input changes nothing. Passwords are never printed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from . import plugin_settings
from .credentials import read_secret_file
from .errors import RuntimeFailure

UNDECLARED_POLICIES = ("keep", "deactivate", "delete")
FLAGS = ("is_superuser", "is_staff", "is_active")
# Defaults for a field the file leaves out.
DEFAULTS = {"email": "", "is_superuser": False, "is_staff": False, "is_active": True}


@dataclass(frozen=True)
class UserSpec:
    name: str
    email: str = ""
    is_superuser: bool = False
    is_staff: bool = False
    is_active: bool = True
    password_credential: str | None = None

    def fields(self) -> dict[str, object]:
        """The model fields this declaration sets, in a fixed order."""
        return {"email": self.email, **{flag: getattr(self, flag) for flag in FLAGS}}


@dataclass(frozen=True)
class Declaration:
    undeclared: str = "keep"
    users: tuple[UserSpec, ...] = field(default_factory=tuple)
    # Declared plugin settings, {slug: {KEY: value}} (plugin_settings.py).
    plugin_settings: dict = field(default_factory=dict)


def parse_declaration(data: object, origin: str) -> Declaration:
    """Validate the decoded users file; every problem is reported at once."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise RuntimeFailure(f"{origin}: expected a JSON object with 'undeclared' and 'users'")
    unknown = sorted(set(data) - {"undeclared", "users", "plugin_settings"})
    if unknown:
        problems.append(f"unknown top-level key(s): {', '.join(unknown)}")
    undeclared = data.get("undeclared", "keep")
    if undeclared not in UNDECLARED_POLICIES:
        problems.append(f"'undeclared' must be one of {', '.join(UNDECLARED_POLICIES)}, not {undeclared!r}")
    users_data = data.get("users", {})
    if not isinstance(users_data, dict):
        problems.append("'users' must be an object mapping user names to their settings")
        users_data = {}

    users = []
    for name, settings in sorted(users_data.items()):
        where = f"user {name!r}"
        if not name or name != name.strip() or len(name) > 150:
            problems.append(f"{where}: a user name must be 1-150 characters without surrounding spaces")
        if not isinstance(settings, dict):
            problems.append(f"{where}: settings must be an object")
            continue
        unknown = sorted(set(settings) - {*DEFAULTS, "password_credential"})
        if unknown:
            problems.append(f"{where}: unknown key(s): {', '.join(unknown)}")
        values = {**DEFAULTS, **{k: v for k, v in settings.items() if k in DEFAULTS}}
        if not isinstance(values["email"], str):
            problems.append(f"{where}: 'email' must be a string")
        for flag in FLAGS:
            if not isinstance(values[flag], bool):
                problems.append(f"{where}: '{flag}' must be true or false")
        credential = settings.get("password_credential")
        if credential is not None and (not isinstance(credential, str) or not credential or "/" in credential):
            problems.append(f"{where}: 'password_credential' must be a credential name (no '/')")
        users.append(UserSpec(name=name, password_credential=credential, **values))

    if problems:
        raise RuntimeFailure(f"{origin} is invalid:\n  " + "\n  ".join(problems))
    settings = plugin_settings.parse(data.get("plugin_settings"), origin)
    return Declaration(undeclared=undeclared, users=tuple(users), plugin_settings=settings)


def load_declaration(path: Path) -> Declaration:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise RuntimeFailure(f"cannot read the users file {path}: {err.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise RuntimeFailure(f"the users file {path} is not valid JSON: {err}") from None
    return parse_declaration(data, str(path))


def password_files(declaration: Declaration, credentials_dir: Path | None) -> dict[str, Path]:
    """User name → the credential file holding their password (declared ones only)."""
    wanted = {u.name: u.password_credential for u in declaration.users if u.password_credential}
    if wanted and credentials_dir is None:
        raise RuntimeFailure(
            "users declare passwords (" + ", ".join(sorted(wanted)) + ") but CREDENTIALS_DIRECTORY is not set"
        )
    return {name: credentials_dir / credential for name, credential in wanted.items()}


def read_passwords(declaration: Declaration, credentials_dir: Path | None) -> dict[str, str]:
    """Every declared password, read before anything is changed; failures name the file."""
    passwords = {}
    problems = []
    for name, path in password_files(declaration, credentials_dir).items():
        try:
            password = read_secret_file(path, what=f"password file of user {name!r}")
        except RuntimeFailure as failure:
            problems.append(str(failure))
            continue
        if not password:
            problems.append(f"password file of user {name!r} {path} is empty")
        passwords[name] = password
    if problems:
        raise RuntimeFailure("\n".join(problems))
    return passwords


class UserRecord(Protocol):
    """What `apply` needs of a user object (Django's User provides it)."""

    username: str

    def check_password(self, raw: str) -> bool: ...
    def set_password(self, raw: str | None) -> None: ...
    def set_unusable_password(self) -> None: ...
    def save(self) -> None: ...
    def delete(self) -> object: ...


class UserStore(Protocol):
    def get(self, username: str) -> UserRecord | None: ...
    def new(self, username: str) -> UserRecord: ...
    def all(self) -> Iterable[UserRecord]: ...


def apply(
    declaration: Declaration, passwords: Mapping[str, str], store: UserStore, report: Callable[[str], None]
) -> dict[str, str]:
    """Bring the users in `store` to the declaration; report one line per user; return name → outcome."""
    outcomes = {}
    for spec in declaration.users:
        user = store.get(spec.name)
        created = user is None
        if created:
            user = store.new(spec.name)
        changed = [key for key, value in spec.fields().items() if getattr(user, key, None) != value]
        for key in changed:
            setattr(user, key, spec.fields()[key])
        password = passwords.get(spec.name)
        if password is not None:
            if created or not user.check_password(password):
                user.set_password(password)
                changed.append("password")
        elif created:
            # No password declared: the account exists but cannot log in with one.
            user.set_unusable_password()
        if created or changed:
            user.save()
        outcome = "created" if created else f"updated ({', '.join(changed)})" if changed else "unchanged"
        outcomes[spec.name] = outcome
        report(f"user {spec.name}: {outcome}")

    if declaration.undeclared != "keep":
        declared = {spec.name for spec in declaration.users}
        for user in sorted(store.all(), key=lambda u: u.username):
            if user.username in declared:
                continue
            if declaration.undeclared == "delete":
                user.delete()
                outcome = "deleted (undeclared)"
            elif getattr(user, "is_active", False):
                user.is_active = False
                user.save()
                outcome = "deactivated (undeclared)"
            else:
                outcome = "unchanged (undeclared, inactive)"
            outcomes[user.username] = outcome
            report(f"user {user.username}: {outcome}")
    return outcomes
