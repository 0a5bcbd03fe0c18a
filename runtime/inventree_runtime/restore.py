"""`restore`: put a backup's database and media files back.

Run by the admin command `inventree-restore` (module/admin.nix) after it has
stopped the server and the worker; it re-runs setup and starts them again
afterwards. Here: pick the backup files (the newest of each kind, or the
named ones) in the configured `backup_dir`, clear the setup state so that the
next setup migrates (a backup made by an older InvenTree has an older schema,
and the state would otherwise say "already migrated"), then django-dbbackup's
`dbrestore` and `mediarestore`, as InvenTree's `invoke restore` runs them.

What a backup does not hold: the secret key (`secret_key.txt` in the data
dir, or `secretKeyFile`) and the configuration, which NixOS declares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import django_manage
from .environment import SetupPaths, configured_dirs, parse_config
from .errors import RuntimeFailure
from .setup import read_bytes

# Default name templates of InvenTree/backup.py (InvenTree-db-{datetime}.{extension}, …);
# the backup unit's retention uses the same prefixes.
PREFIXES = {"database": "InvenTree-db-", "media": "InvenTree-media-"}


@dataclass(frozen=True)
class Selection:
    database: Path
    media: Path


def newest(directory: Path, prefix: str) -> Path | None:
    """The most recently modified backup of `directory` whose name starts with `prefix`.

    Not a `.metadata` sidecar: django-dbbackup writes one beside each database dump, after it, so
    it is always the newest file (restoring it fails with "file is not a database").
    """
    candidates = [
        p
        for p in directory.iterdir()
        if p.is_file() and p.name.startswith(prefix) and not p.name.endswith(".metadata")
    ]
    return max(candidates, key=lambda p: (p.stat().st_mtime, p.name), default=None)


def named(directory: Path, name: str, kind: str) -> Path:
    """A backup file given by the admin: a name in `directory`, or a path inside it."""
    path = directory / name
    if path.parent.resolve() != directory.resolve():
        raise RuntimeFailure(f"the {kind} backup {name} is not a file directly in the backup directory {directory}")
    if not path.is_file():
        raise RuntimeFailure(f"no {kind} backup {path}: list the backups with `ls {directory}`")
    return path


def select(directory: Path, database: str | None, media: str | None) -> Selection:
    if not directory.is_dir():
        raise RuntimeFailure(f"the backup directory {directory} does not exist: there is nothing to restore")
    chosen = {}
    for kind, name in (("database", database), ("media", media)):
        if name is not None:
            chosen[kind] = named(directory, name, kind)
            continue
        found = newest(directory, PREFIXES[kind])
        if found is None:
            raise RuntimeFailure(f"no {kind} backup ({PREFIXES[kind]}*) in {directory}")
        chosen[kind] = found
    return Selection(**chosen)


def restore_args(command: str, backup: Path, extra: Sequence[str] = ()) -> list[str]:
    """`dbrestore`/`mediarestore` of one file of the backup storage (the backup dir)."""
    args = [command, "--noinput", "-v", "1", "--input-filename", backup.name, *extra]
    if backup.name.endswith(".gz"):
        args.append("--uncompress")
    return args


def clear_state(paths: SetupPaths) -> bool:
    try:
        paths.state_file.unlink()
    except FileNotFoundError:
        return False
    except OSError as err:
        raise RuntimeFailure(f"cannot remove the setup state {paths.state_file}: {err.strerror}") from None
    return True


def run(
    env: Mapping[str, str],
    database: str | None = None,
    media: str | None = None,
    report: Callable[[str], None] = print,
    plan_only: bool = False,
) -> None:
    """Restore; with `plan_only`, only name the backups it would restore (changes nothing).

    The admin command runs the plan first, so a missing backup is reported
    before InvenTree is stopped.
    """
    paths = SetupPaths.from_env(env)
    config = parse_config(read_bytes(paths.config_source, "the rendered config").decode("utf-8"), paths.config_source)
    backup_dir = configured_dirs(config, env).get("backup_dir")
    if backup_dir is None:
        raise RuntimeFailure("no backup_dir in the config: set services.inventree.backup.directory")
    chosen = select(backup_dir, database, media)
    verb = "would restore" if plan_only else "restore:"
    report(f"{verb} database from {chosen.database}")
    report(f"{verb} media from {chosen.media}")
    if plan_only:
        return

    # First, so that an interrupted restore still leaves setup migrating on its next run.
    cleared = clear_state(paths)
    report(f"setup state: {'cleared' if cleared else 'absent'} (the next setup migrates the restored database)")

    django_manage.run_manage(paths.source, restore_args("dbrestore", chosen.database), env)
    report("restore: database restored")
    # --replace: a file changed since the backup gets the backup's content back. Files added
    # since the backup are left in place (mediarestore only writes what the archive holds).
    django_manage.run_manage(paths.source, restore_args("mediarestore", chosen.media, ["--replace"]), env)
    report("restore: media files restored (files added since the backup were kept)")
