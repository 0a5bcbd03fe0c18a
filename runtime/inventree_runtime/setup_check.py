"""`setup-check`: has setup completed its migrations for the current configuration?

The server and the worker run it as `ExecStartPre=`. They only `Wants=` the
setup unit (a failed setup must not leave them down for good: each of their
restarts pulls setup in again), so this is what keeps them from starting on a
database that setup has not migrated for this InvenTree version, source and
config. It reads the state file setup writes after a successful migration
and compares it with the state setup would record now, through the same code
(`state.desired_state`, `SetupState.changes_from`). Standard library only: it
runs before every start, so it must not start Django.
"""

from __future__ import annotations

from collections.abc import Mapping

from .environment import SetupPaths
from .errors import RuntimeFailure
from .setup import read_bytes
from .state import desired_state, read_state


def check(env: Mapping[str, str]) -> str:
    """One line saying setup is complete, or RuntimeFailure naming what differs."""
    paths = SetupPaths.from_env(env)
    config_text = read_bytes(paths.config_source, "the rendered config")
    desired = desired_state(paths.source, config_text)
    recorded = read_state(paths.state_file)
    changes = desired.changes_from(recorded)
    if changes:
        why = f"no setup state in {paths.state_file}" if recorded is None else "changed: " + ", ".join(changes)
        raise RuntimeFailure(
            f"setup has not completed for this configuration ({why}): see journalctl -u inventree-setup"
        )
    return f"setup-check: setup completed for InvenTree {desired.inventree_version} and this configuration"
