"""The Django secret key: generation, and the key file setup creates when absent."""

from __future__ import annotations

import os
import secrets
import string
from pathlib import Path

from .errors import RuntimeFailure

# Django's own alphabet for get_random_secret_key(): safe in YAML, env and shell.
ALPHABET = string.ascii_lowercase + string.ascii_uppercase + string.digits + "!@#$%^&*(-_=+)"
KEY_LENGTH = 64
KEY_MODE = 0o600


def generate_key() -> str:
    """A new secret key from the OS's CSPRNG (upstream InvenTree uses `random`)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(KEY_LENGTH))


def create_key_file(path: Path) -> bool:
    """Write a new key to `path` (mode 0600) if there is none; True when created.

    The key is written to a temporary file and hard-linked into place, so the
    path either does not exist or holds a complete key, and a concurrent
    creator cannot be overwritten.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_MODE)
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_key() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    except OSError as err:
        raise RuntimeFailure(f"cannot create the secret key file {path}: {err.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return True
