"""`python -m inventree_runtime <subcommand>`: argument parsing and dispatch only."""

from __future__ import annotations

import argparse
import os
import sys

from . import commands, database_wait, restore, setup, setup_check
from .credentials import load_credentials
from .errors import RuntimeFailure
from .secret import generate_key

PASS_THROUGH = {"server", "manage", "invoke"}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="inventree-runtime",
        description="Run InvenTree as the NixOS service does. Every subcommand first exports "
        "the INVENTREE_* credentials of $CREDENTIALS_DIRECTORY as environment variables.",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    sub.add_parser("setup", help="install config, secret key, directories; migrate if needed; static files; users")
    sub.add_parser("refresh-users", help="apply INVENTREE_USERS_FILE to the database")
    sub.add_parser("setup-check", help="fail unless setup has migrated for this version, source and config")
    wait = sub.add_parser("wait-for-db", help="wait until the database server accepts connections")
    wait.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="give up after this long")
    back = sub.add_parser("restore", help="restore database and media from a backup; the next setup migrates")
    back.add_argument("--database", metavar="FILE", help="database backup in backup_dir (default: the newest)")
    back.add_argument("--media", metavar="FILE", help="media backup in backup_dir (default: the newest)")
    back.add_argument("--plan", action="store_true", help="only name the backups it would restore")
    sub.add_parser("server", help="exec gunicorn (remaining arguments go to gunicorn)", add_help=False)
    sub.add_parser("cluster", help="exec the background worker (manage.py qcluster)")
    sub.add_parser("manage", help="exec manage.py with the remaining arguments", add_help=False)
    sub.add_parser("invoke", help="exec InvenTree's invoke tasks with the remaining arguments", add_help=False)
    sub.add_parser("gen-secret", help="print a new Django secret key")
    return top


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # server/manage/invoke hand every following argument to the program they run,
    # including ones that look like options (`server --workers 2`, `manage --help`).
    if argv and argv[0] in PASS_THROUGH:
        command, rest, options = argv[0], argv[1:], None
    else:
        options = parser().parse_args(argv)
        command, rest = options.command, []

    env = os.environ
    try:
        load_credentials(env)
        if command == "setup":
            setup.run(env, report=lambda line: print(line, flush=True))
        elif command == "refresh-users":
            setup.refresh_users(env)
        elif command == "setup-check":
            print(setup_check.check(env), flush=True)
        elif command == "wait-for-db":
            database_wait.run(env, options.timeout, report=lambda line: print(line, flush=True))
        elif command == "restore":
            restore.run(
                env, options.database, options.media, report=lambda line: print(line, flush=True), plan_only=options.plan
            )
        elif command == "server":
            commands.server(env, rest)
        elif command == "cluster":
            commands.cluster(env)
        elif command == "manage":
            commands.manage(env, rest)
        elif command == "invoke":
            commands.invoke(env, rest)
        elif command == "gen-secret":
            print(generate_key())
    except RuntimeFailure as failure:
        print(f"inventree-runtime {command}: error: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
