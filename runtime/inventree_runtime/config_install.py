"""Install the rendered config.yaml into the data directory, atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import RuntimeFailure

CONFIG_MODE = 0o640


def atomic_write(target: Path, content: bytes, mode: int) -> None:
    """Replace `target` with `content`: a reader sees the old file or the new one, never a part.

    The temporary file lives beside the target (same filesystem, so the rename
    is atomic) and is removed if anything fails.
    """
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def install_config(source: Path, target: Path) -> bool:
    """Copy `source` to `target` (mode 0640) unless it is already there; True when written."""
    try:
        content = source.read_bytes()
    except OSError as err:
        raise RuntimeFailure(f"cannot read the rendered config {source}: {err.strerror}") from None
    try:
        if target.read_bytes() == content and (target.stat().st_mode & 0o777) == CONFIG_MODE:
            return False
    except FileNotFoundError:
        pass
    except OSError as err:
        raise RuntimeFailure(f"cannot read the installed config {target}: {err.strerror}") from None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, content, CONFIG_MODE)
    except OSError as err:
        raise RuntimeFailure(f"cannot install the config to {target}: {err.strerror}") from None
    return True
