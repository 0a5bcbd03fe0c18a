"""Where things are: every path the runtime uses, derived from the environment.

The module, the wrappers and the harness's host tier set the same variables
(docs/ARCHITECTURE.md, "Environment"); this is the one place that reads them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import RuntimeFailure

# What each variable must hold, for the message when it is missing.
MEANING = {
    "INVENTREE_SRC": "the InvenTree source root (the directory holding src/backend/InvenTree/manage.py)",
    "INVENTREE_DATA_DIR": "the service's data directory (services.inventree.dataDir)",
    "INVENTREE_CONFIG_FILE": "where config.yaml is installed, normally $INVENTREE_DATA_DIR/config.yaml",
    "INVENTREE_CONFIG_SOURCE": "the rendered config.yaml (JSON) to install",
}

# Directories InvenTree reads from the config, and the variables that override them
# (InvenTree.config.get_setting: the environment variable wins over config.yaml).
CONFIGURED_DIRS = {
    "static_root": "INVENTREE_STATIC_ROOT",
    "media_root": "INVENTREE_MEDIA_ROOT",
    "backup_dir": "INVENTREE_BACKUP_DIR",
}

SW_VERSION_RE = re.compile(r"""^INVENTREE_SW_VERSION\s*=\s*['"]([^'"]+)['"]""", re.MULTILINE)


def require(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise RuntimeFailure(f"{name} is not set: it must name {MEANING[name]}")
    return value


@dataclass(frozen=True)
class Source:
    """An InvenTree source tree."""

    root: Path

    @property
    def backend_dir(self) -> Path:
        """The Django project directory (manage.py, gunicorn.conf.py)."""
        return self.root / "src" / "backend" / "InvenTree"

    @property
    def manage_py(self) -> Path:
        return self.backend_dir / "manage.py"

    @property
    def gunicorn_conf(self) -> Path:
        return self.backend_dir / "gunicorn.conf.py"

    def version(self) -> str:
        """InvenTree's version string (InvenTree/version.py), read without importing Django."""
        version_py = self.backend_dir / "InvenTree" / "version.py"
        try:
            match = SW_VERSION_RE.search(version_py.read_text(encoding="utf-8"))
        except OSError as err:
            raise RuntimeFailure(f"cannot read the InvenTree version from {version_py}: {err.strerror}") from None
        if not match:
            raise RuntimeFailure(f"no INVENTREE_SW_VERSION in {version_py}")
        return match.group(1)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Source:
        root = Path(require(env, "INVENTREE_SRC"))
        source = cls(root)
        if not source.manage_py.is_file():
            raise RuntimeFailure(
                f"INVENTREE_SRC={root} is not an InvenTree source tree: {source.manage_py} does not exist"
            )
        return source


@dataclass(frozen=True)
class SetupPaths:
    """Everything the setup step reads or writes."""

    source: Source
    data_dir: Path
    config_file: Path
    config_source: Path
    secret_key_file: Path
    users_file: Path | None
    static_source: Path | None
    credentials_dir: Path | None
    # The key itself arrived in the environment (the INVENTREE_SECRET_KEY
    # credential of `secretKeyFile`): InvenTree prefers it over any key file.
    secret_key_in_env: bool = False

    @property
    def state_file(self) -> Path:
        return self.data_dir / ".setup-state.json"

    @property
    def secret_key_is_generated(self) -> bool:
        """True when the key lives in the data dir, so setup creates it when absent.

        Otherwise it is a credential (secretKeyFile) that must already exist.
        """
        if self.secret_key_in_env:
            return False
        return self.secret_key_file.parent.resolve().is_relative_to(self.data_dir.resolve())

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SetupPaths:
        data_dir = Path(require(env, "INVENTREE_DATA_DIR"))

        def optional(name: str) -> Path | None:
            value = env.get(name, "").strip()
            return Path(value) if value else None

        return cls(
            source=Source.from_env(env),
            data_dir=data_dir,
            config_file=Path(require(env, "INVENTREE_CONFIG_FILE")),
            config_source=Path(require(env, "INVENTREE_CONFIG_SOURCE")),
            secret_key_file=optional("INVENTREE_SECRET_KEY_FILE") or data_dir / "secret_key.txt",
            users_file=optional("INVENTREE_USERS_FILE"),
            static_source=optional("INVENTREE_STATIC_SOURCE"),
            credentials_dir=optional("CREDENTIALS_DIRECTORY"),
            secret_key_in_env=bool(env.get("INVENTREE_SECRET_KEY", "").strip()),
        )


def parse_config(text: str, origin: Path) -> dict:
    """The rendered config (JSON, which is also valid YAML) as a dict."""
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise RuntimeFailure(f"{origin} is not the JSON config the module renders: {err}") from None
    if not isinstance(config, dict):
        raise RuntimeFailure(f"{origin} must hold a JSON object, not {type(config).__name__}")
    return config


def configured_dirs(config: Mapping, env: Mapping[str, str]) -> dict[str, Path]:
    """static_root, media_root and backup_dir as InvenTree will resolve them (those set)."""
    dirs = {}
    for key, variable in CONFIGURED_DIRS.items():
        value = env.get(variable) or config.get(key)
        if value:
            dirs[key] = Path(str(value))
    return dirs


def _prepend(value: str, entry: str) -> str:
    entries = [p for p in value.split(os.pathsep) if p and p != entry]
    return os.pathsep.join([entry, *entries])


def child_env(env: Mapping[str, str], interpreter: str) -> dict[str, str]:
    """Environment for InvenTree subprocesses: ours, with this package importable.

    The interpreter's bin directory goes first on PATH because InvenTree's
    tasks.py runs `python3 manage.py ...` (and invoke runs its tasks) through
    the shell, and they must get the InvenTree environment's Python.
    """
    runtime_root = str(Path(__file__).resolve().parent.parent)
    child = dict(env)
    child["PYTHONPATH"] = _prepend(child.get("PYTHONPATH", ""), runtime_root)
    child["PATH"] = _prepend(child.get("PATH", os.defpath), str(Path(interpreter).parent))
    return child
