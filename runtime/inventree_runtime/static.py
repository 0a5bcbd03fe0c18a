"""Deploying static files to static_root.

With INVENTREE_STATIC_SOURCE (static files collected when the package was
built) the tree is copied; otherwise `manage.py collectstatic` collects them,
as InvenTree's `invoke static` does. Either way a marker in static_root
records what was deployed, so an unchanged deployment is skipped.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import RuntimeFailure

MARKER = ".inventree-static-deployed"


def deployed_marker(static_root: Path) -> str | None:
    try:
        return (static_root / MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def write_marker(static_root: Path, identity: str) -> None:
    (static_root / MARKER).write_text(identity + "\n", encoding="utf-8")


def clear_directory(directory: Path) -> None:
    """Remove everything inside `directory`, keeping the directory itself.

    The directory may be managed by systemd (StateDirectory=), so it is never
    replaced, only emptied.
    """
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def copy_tree(source: Path, target: Path) -> int:
    """Copy `source` into `target` with writable modes; return the number of files.

    The source is usually in the read-only Nix store; copying its modes would
    make the next deployment unable to replace the files, so files get 0644
    and directories 0755 instead (content and names only).
    """
    count = 0
    for directory, subdirs, files in os.walk(source):
        relative = Path(directory).relative_to(source)
        destination = target / relative
        destination.mkdir(mode=0o755, exist_ok=True)
        for name in files:
            origin = Path(directory) / name
            shutil.copyfile(origin, destination / name, follow_symlinks=True)
            os.chmod(destination / name, 0o644)
            count += 1
        subdirs.sort()
    return count


def deploy_copy(source: Path, static_root: Path) -> str:
    """Copy a prebuilt static tree into static_root unless that very tree is deployed."""
    identity = f"copy {source.resolve()}"
    if deployed_marker(static_root) == identity:
        return f"static: unchanged ({source})"
    if not source.is_dir():
        raise RuntimeFailure(f"INVENTREE_STATIC_SOURCE={source} is not a directory")
    try:
        static_root.mkdir(parents=True, exist_ok=True)
        clear_directory(static_root)
        count = copy_tree(source, static_root)
        write_marker(static_root, identity)
    except OSError as err:
        raise RuntimeFailure(f"cannot deploy static files from {source} to {static_root}: {err}") from None
    return f"static: copied {count} files from {source}"
