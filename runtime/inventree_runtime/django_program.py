"""Starting Django inside a program of ours (`python -m inventree_runtime.<program>`).

InvenTree decides how to start from sys.argv. Our programs start it as a
migration-state reader (argv `showmigrations`): no ready() hook touches the
database, and InvenTree does not exit with INVE-W8 when migrations are
unapplied. Once Django is set up, argv becomes neutral (no command), so
InvenTree's post-save hooks run as in the server: a new user gets its
profile. Under `manage.py shell`, which InvenTree treats as read-only, they
do not. The migrate program instead keeps `migrate` in argv throughout,
as `manage.py migrate` would.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

# The argv InvenTree sees while Django starts.
STARTUP_ARGV_COMMAND = "showmigrations"


def start_django(argv: Sequence[str]) -> None:
    """What InvenTree's manage.py does before running a command, with `argv` as sys.argv."""
    backend_dir = os.getcwd()
    if backend_dir not in sys.path:
        sys.path.insert(0, backend_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "InvenTree.settings")
    import django

    sys.argv = list(argv)
    django.setup()


def setup_django() -> None:
    """Start Django as `showmigrations`, then make argv neutral for InvenTree's hooks."""
    program = sys.argv[0]
    start_django([program, STARTUP_ARGV_COMMAND])
    # From here on InvenTree's hooks see a program that writes (profiles are created).
    sys.argv = [program]


def exit_with_error(message: str, status: int = 1) -> None:
    """End one of our Django programs with a message setup's journal shows (stderr) and `status`."""
    print(f"inventree-runtime: error: {message}", file=sys.stderr, flush=True)
    sys.exit(status)
