"""Shared test fixtures: temporary directories and a fake InvenTree source tree."""

from __future__ import annotations

import json
import os
import tempfile
import unittest
from pathlib import Path

# A stand-in for InvenTree's manage.py: records each invocation (one JSON
# argv per line) and exits with $FAKE_FAIL_<command> (default 0).
FAKE_MANAGE = """\
import json, os, sys
with open(os.environ["FAKE_MANAGE_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1] == "collectstatic":
    root = json.load(open(os.environ["INVENTREE_CONFIG_FILE"]))["static_root"]
    open(os.path.join(root, "collected.css"), "w").write("body {}")
sys.exit(int(os.environ.get("FAKE_FAIL_" + sys.argv[1], "0")))
"""


class TempDirTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="inventree-runtime-test-")
        self.tmp = Path(self._tmp.name)

    def tearDown(self) -> None:
        self._tmp.cleanup()

    def write(self, relative: str, text: str, mode: int | None = None) -> Path:
        path = self.tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if mode is not None:
            os.chmod(path, mode)
        return path


def fake_source(root: Path, version: str = "1.3.5", api_version: int = 477) -> Path:
    backend = root / "src" / "backend" / "InvenTree"
    (backend / "InvenTree").mkdir(parents=True)
    (backend / "manage.py").write_text(FAKE_MANAGE)
    (backend / "gunicorn.conf.py").write_text("bind = '0.0.0.0:8000'\n")
    (backend / "InvenTree" / "version.py").write_text(f"INVENTREE_SW_VERSION = '{version}'\n")
    (backend / "InvenTree" / "api_version.py").write_text(f"INVENTREE_API_VERSION = {api_version}\n")
    (backend / "part" / "migrations").mkdir(parents=True)
    (backend / "part" / "migrations" / "0001_initial.py").write_text("")
    return root


def read_log(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path → content), to compare before/after."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
