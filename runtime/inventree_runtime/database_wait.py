"""`wait-for-db`: wait, bounded, until the database server accepts connections.

The setup unit runs it as `ExecStartPre=`, so the common boot race (a remote
database, or one that restarts while InvenTree starts) needs no failed setup
and no restart at all. It only opens and closes a socket (TCP, or the unix
socket Django would use): standard library, no Django start. A server that
accepts connections but is not ready yet fails the setup after this, and the
units' restart logic (docs/nixos.md, "Recovery") retries.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .environment import parse_config, require
from .errors import RuntimeFailure

DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
CONNECT_TIMEOUT = 2.0
RETRY_INTERVAL = 1.0


@dataclass(frozen=True)
class Endpoint:
    """Where the database server listens: a unix socket path, or a TCP host and port."""

    engine: str
    unix_path: Path | None = None
    host: str | None = None
    port: int | None = None

    def describe(self) -> str:
        where = str(self.unix_path) if self.unix_path is not None else f"{self.host}:{self.port}"
        return f"{self.engine} at {where}"


def engine_of(name: str) -> str | None:
    """InvenTree's ENGINE value (`postgresql`, `django.db.backends.mysql`, …) as a family."""
    lowered = name.lower()
    for family in ("sqlite", "postgres", "mysql"):
        if family in lowered:
            return {"postgres": "postgresql"}.get(family, family)
    return None


def endpoint(config: Mapping, env: Mapping[str, str]) -> Endpoint | None:
    """The server to wait for; None for SQLite or when nothing names a server to reach.

    The `INVENTREE_DB_*` variables win over config.yaml, as in InvenTree.
    """
    database = config.get("database") or {}
    engine = engine_of(env.get("INVENTREE_DB_ENGINE") or str(database.get("ENGINE", "")))
    if engine not in DEFAULT_PORTS:
        return None
    host = env.get("INVENTREE_DB_HOST") or str(database.get("HOST") or "")
    port = int(env.get("INVENTREE_DB_PORT") or database.get("PORT") or DEFAULT_PORTS[engine])
    if host.startswith("/"):
        # Django's rule: a HOST starting with "/" is the PostgreSQL socket directory or the
        # MySQL socket file.
        path = Path(host) / f".s.PGSQL.{port}" if engine == "postgresql" else Path(host)
        return Endpoint(engine, unix_path=path)
    if not host:
        return None
    return Endpoint(engine, host=host, port=port)


def try_connect(target: Endpoint) -> None:
    """Open and close one connection; raises OSError when the server does not accept it."""
    if target.unix_path is not None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(CONNECT_TIMEOUT)
            sock.connect(str(target.unix_path))
    else:
        socket.create_connection((target.host, target.port), timeout=CONNECT_TIMEOUT).close()


def wait(
    target: Endpoint,
    timeout: float,
    connect: Callable[[Endpoint], None] = try_connect,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[str], None] = print,
) -> float:
    """Seconds waited until `target` accepted a connection; RuntimeFailure after `timeout`."""
    started = clock()
    announced = False
    while True:
        try:
            connect(target)
            return clock() - started
        except OSError as err:
            waited = clock() - started
            if waited >= timeout:
                raise RuntimeFailure(
                    f"the database server ({target.describe()}) did not accept a connection within "
                    f"{timeout:.0f} s: {err.strerror or err}. Check that it runs and is reachable"
                ) from None
            if not announced:
                report(f"database: waiting up to {timeout:.0f} s for {target.describe()} ({err.strerror or err})")
                announced = True
            sleep(RETRY_INTERVAL)


def run(env: Mapping[str, str], timeout: float, report: Callable[[str], None] = print) -> None:
    """The `wait-for-db` subcommand: find the server in the rendered config, then wait."""
    source = Path(require(env, "INVENTREE_CONFIG_SOURCE"))
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as err:
        raise RuntimeFailure(f"the rendered config {source} cannot be read: {err.strerror}") from None
    target = endpoint(parse_config(text, source), env)
    if target is None:
        report("database: nothing to wait for (SQLite, or no server named in the config)")
        return
    waited = wait(target, timeout, report=report)
    report(f"database: {target.describe()} accepts connections (waited {waited:.1f} s)")
