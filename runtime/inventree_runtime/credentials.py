"""systemd credentials → environment variables, and secret-file reading.

systemd's LoadCredential= puts each secret in a file under
$CREDENTIALS_DIRECTORY. InvenTree reads its secrets (INVENTREE_DB_PASSWORD,
INVENTREE_EMAIL_PASSWORD, INVENTREE_CACHE_PASSWORD, ...) from environment
variables, so every credential named INVENTREE_* is exported under its name;
no secret is ever written to config.yaml.

Credentials whose name ends in `_FILE` (INVENTREE_SECRET_KEY_FILE) are not
exported: InvenTree takes those as *paths*, and the unit passes the path
(`%d/INVENTREE_SECRET_KEY_FILE`) in the environment already.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

from .errors import RuntimeFailure

EXPORTED_PREFIX = "INVENTREE_"
PATH_SUFFIX = "_FILE"


def strip_one_newline(text: str) -> str:
    """Drop exactly one trailing newline (`\\n` or `\\r\\n`), as `echo > file` adds.

    Only one: a password may itself end in whitespace.
    """
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def read_secret_file(path: Path, what: str = "secret file") -> str:
    """Content of a secret file without its trailing newline, or a failure naming the file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RuntimeFailure(f"{what} {path} does not exist") from None
    except PermissionError:
        raise RuntimeFailure(f"{what} {path} is not readable by uid {os.getuid()}") from None
    except IsADirectoryError:
        raise RuntimeFailure(f"{what} {path} is a directory, not a file") from None
    except OSError as err:
        raise RuntimeFailure(f"{what} {path} cannot be read: {err.strerror}") from None
    try:
        return strip_one_newline(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise RuntimeFailure(f"{what} {path} is not UTF-8 text") from None


def exported_names(directory: Path) -> list[str]:
    """Credential names in `directory` that become environment variables, sorted."""
    return sorted(
        entry.name
        for entry in directory.iterdir()
        if entry.name.startswith(EXPORTED_PREFIX) and not entry.name.endswith(PATH_SUFFIX)
    )


def load_credentials(env: MutableMapping[str, str]) -> list[str]:
    """Export $CREDENTIALS_DIRECTORY/INVENTREE_* into `env`; return the names exported.

    Without CREDENTIALS_DIRECTORY (no credentials configured) nothing happens.
    """
    directory = env.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return []
    root = Path(directory)
    if not root.is_dir():
        raise RuntimeFailure(f"CREDENTIALS_DIRECTORY={directory} is not a directory")
    names = exported_names(root)
    for name in names:
        env[name] = read_secret_file(root / name, what="credential")
    return names
