"""Migrate the database: `python -m inventree_runtime.schema_migrate [--apply-users]`.

One Django process runs InvenTree's migration sequence (tasks.py `migrate`
and its post tasks: `migrate --run-syncdb`, `remove_stale_contenttypes
--include-stale-apps`, `rebuild_models`, `rebuild_thumbnails`), each
command as `manage.py <command>` would run it, with sys.argv set to that
command while it runs so InvenTree's checks (isRunningMigrations,
isRebuildingData) see what they would see. Django starts once (about 10 s
here) instead of once per command, and in the same process:

- the whole sequence runs under the database's migration lock: another node
  migrating the same database is waited for (see migration_lock);
- before migrating, it refuses (exit status 4, nothing changed) when the
  database has migrations applied that this tree does not have: the
  database was migrated by a newer InvenTree, and an older one would run on
  a schema it does not know. Only apps of this tree that have migrations
  count (a removed plugin's migrations are no downgrade), and migrations a
  squashed migration of the tree replaces are known.
- after the core migrations, it activates the declared plugins and
  migrates again for their apps (see plugins_activate: InvenTree cannot
  create a new plugin's row while migrating);
- after migrating, it stores InvenTree's global settings defaults (see
  settings_defaults for why) and drops queued tasks signed with another
  secret key (see queue_prune: a restore onto another machine);
- with `--apply-users`, it then applies the declared users with a neutral
  argv, as `users_apply` does (Django started as `migrate`, like
  `showmigrations` there: no ready() hook wrote to the database).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Mapping

from . import migration_lock
from .django_program import exit_with_error, start_django
from .errors import RuntimeFailure
from .plugins_activate import activate_declared
from .queue_prune import drop_unreadable
from .settings_defaults import store_defaults

# Exit status when the database is newer than the tree.
NEWER_DATABASE_STATUS = 4
APPLY_USERS_FLAG = "--apply-users"

# `migrate --run-syncdb` applies everything and fails loudly when it cannot.
# Not `makemigrations` (a release ships its migrations; the tree is read-only)
# nor `runmigrations` (a no-op as a command: check_for_migrations() returns at
# once when "runmigrations" is in sys.argv).
MIGRATION_STEPS = (
    ("migrate", "--run-syncdb", "--noinput"),
    ("remove_stale_contenttypes", "--include-stale-apps", "--no-input"),
    ("rebuild_models",),
    ("rebuild_thumbnails",),
)
MANAGE = "manage.py"


def unknown_applied(
    applied: Iterable[tuple[str, str]], on_disk: Iterable[tuple[str, str]], replaced: Iterable[tuple[str, str]]
) -> list[str]:
    """`app.migration` names applied in the database but unknown to the tree, sorted."""
    known = set(on_disk) | set(replaced)
    apps_with_migrations = {app for app, _ in known}
    return sorted(f"{app}.{name}" for app, name in applied if app in apps_with_migrations and (app, name) not in known)


def replaced_by_squashes(replacements: Mapping) -> set[tuple[str, str]]:
    return {key for migration in replacements.values() for key in migration.replaces}


def newer_migrations() -> list[str]:
    """What `unknown_applied` finds in this database for this tree (read-only)."""
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connections[DEFAULT_DB_ALIAS], ignore_no_migrations=True)
    return unknown_applied(loader.applied_migrations, loader.disk_migrations, replaced_by_squashes(loader.replacements))


def run_step(step: tuple[str, ...]) -> None:
    """One management command, as `manage.py <step> -v 1` would run it; prints its duration."""
    from django.core.management import execute_from_command_line

    argv = [MANAGE, *step, "-v", "1"]
    began = time.monotonic()
    sys.argv = argv
    execute_from_command_line(argv)
    print(f"migrations: {step[0]} ({time.monotonic() - began:.1f} s)", flush=True)


def refuse_newer_database(unknown: list[str]) -> None:
    exit_with_error(
        f"the database has migrations applied that this InvenTree tree does not have ({len(unknown)}): "
        f"{', '.join(unknown)}. It was migrated by a newer InvenTree; refusing to run an older one on it. "
        "Nothing was changed.",
        NEWER_DATABASE_STATUS,
    )


def main(argv: list[str] | None = None) -> None:
    options = sys.argv[1:] if argv is None else list(argv)
    program = sys.argv[0]
    start_django([MANAGE, *MIGRATION_STEPS[0]])
    # Another node migrating the same database: wait for it (see migration_lock).
    with migration_lock.held(migration_lock.django_connection, migration_lock.django_vendor(), report):
        migrate_locked(options, program)


def report(line: str) -> None:
    print(line, flush=True)


def migrate_locked(options: list[str], program: str) -> None:
    """The migration sequence, the settings defaults, the queue and the users (under the lock)."""
    unknown = newer_migrations()
    if unknown:
        refuse_newer_database(unknown)
    migrate, *post_steps = MIGRATION_STEPS
    run_step(migrate)
    try:
        plugins = activate_declared()
    except RuntimeFailure as failure:
        exit_with_error(str(failure))
    if plugins is not None:
        print(plugins, flush=True)
        # The plugins' apps are installed now: their own migrations.
        run_step(migrate)
    for step in post_steps:
        run_step(step)

    from common.models import InvenTreeSetting
    from django_q.models import OrmQ

    try:
        began = time.monotonic()
        line = store_defaults(InvenTreeSetting)
        print(f"{line} ({time.monotonic() - began:.1f} s)", flush=True)
        print(drop_unreadable(OrmQ), flush=True)
        if APPLY_USERS_FLAG in options:
            from .users_apply import apply_declared

            # A neutral argv from here on: InvenTree's post-save hooks run (a new user gets its profile).
            sys.argv = [program]
            apply_declared()
    except RuntimeFailure as failure:
        exit_with_error(str(failure))

if __name__ == "__main__":
    main()
