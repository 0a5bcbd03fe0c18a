"""Starting Django inside a program of ours (`python -m inventree_runtime.<program>`).

InvenTree decides how to start from sys.argv. Our programs start it as a
migration-state reader (argv `showmigrations`): no ready() hook touches the
database, and InvenTree does not exit with INVE-W8 when migrations are
unapplied. Once Django is set up, argv becomes neutral (no command), so
InvenTree's post-save hooks run as in the server: a new user gets its
profile. Under `manage.py shell`, which InvenTree treats as read-only, they
do not.
"""

from __future__ import annotations

import os
import sys

# The argv InvenTree sees while Django starts.
STARTUP_ARGV_COMMAND = "showmigrations"


def setup_django() -> None:
    """What InvenTree's manage.py does before running a command, as `showmigrations`."""
    backend_dir = os.getcwd()
    if backend_dir not in sys.path:
        sys.path.insert(0, backend_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "InvenTree.settings")
    import django

    program = sys.argv[0]
    sys.argv = [program, STARTUP_ARGV_COMMAND]
    django.setup()
    # From here on InvenTree's hooks see a program that writes (profiles are created).
    sys.argv = [program]
