"""Which InvenTree a source tree is, and whether one InvenTree is older than another.

Read as text, without importing Django: `InvenTree/version.py` holds
INVENTREE_SW_VERSION (`1.3.5`, `1.3.0 dev`) and `InvenTree/api_version.py`
INVENTREE_API_VERSION (an integer InvenTree raises with every API change,
also between two commits of the same dev version).

Ordering: major, minor, patch numerically; a version with a suffix (`dev`,
`-dev`, `rc1`) is a pre-release and comes before the release of the same
numbers; between equal versions the API version decides, when both are known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import RuntimeFailure

API_VERSION_RE = re.compile(r"^INVENTREE_API_VERSION\s*=\s*(\d+)", re.MULTILINE)
SW_VERSION_PARTS_RE = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?\s*(.*?)\s*$")


@dataclass(frozen=True)
class InvenTreeVersion:
    """A software version and, when known, its API version."""

    software: str
    api: int | None = None

    def __str__(self) -> str:
        return self.software if self.api is None else f"{self.software} (API {self.api})"

    def release_key(self) -> tuple[int, int, int, int] | None:
        """(major, minor, patch, 0 for a pre-release / 1 for a release), or None when unparseable."""
        match = SW_VERSION_PARTS_RE.match(self.software)
        if not match:
            return None
        major, minor, patch, suffix = match.groups()
        return (int(major), int(minor), int(patch or 0), 0 if suffix else 1)

    def is_older_than(self, other: InvenTreeVersion) -> bool | None:
        """True/False when the two can be ordered, None when a version string is unparseable."""
        mine, theirs = self.release_key(), other.release_key()
        if mine is None or theirs is None:
            return None
        if mine != theirs:
            return mine < theirs
        if self.api is not None and other.api is not None:
            return self.api < other.api
        return False


def read_api_version(backend_dir: Path) -> int | None:
    """INVENTREE_API_VERSION of a tree, or None when the tree has no api_version.py."""
    path = backend_dir / "InvenTree" / "api_version.py"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as err:
        raise RuntimeFailure(f"cannot read the InvenTree API version from {path}: {err.strerror}") from None
    match = API_VERSION_RE.search(text)
    return int(match.group(1)) if match else None


def downgrade_refusal(recorded: InvenTreeVersion, tree: InvenTreeVersion) -> str | None:
    """The reason to refuse running `tree` on a database set up by `recorded`, or None."""
    if tree.is_older_than(recorded) is not True:
        return None
    return (
        f"the database was set up by InvenTree {recorded}, and this source tree is the older "
        f"InvenTree {tree}: an older InvenTree cannot run on a database a newer one migrated. "
        f"Use InvenTree {recorded.software} or newer, or restore a backup taken with {tree.software}. "
        "Nothing was changed."
    )
