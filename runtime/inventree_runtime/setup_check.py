"""`setup-check`: has setup completed for the current InvenTree and configuration?

The server and the worker run it as `ExecStartPre=`. They only `Wants=` the
setup unit (a failed setup must not leave them down for good: each of their
restarts pulls setup in again), so this is what keeps them from starting on a
database that setup has not migrated for this InvenTree version, source and
database config, or with a config.yaml setup has not installed yet. It builds
the state setup would record now with setup's own code (`setup.desired_state`)
and asks `state.compare` what is left; only the declared users are left out:
the server and worker do not load the user password credentials, and a
pending users step does not make the database unfit to serve. Standard library
only: it runs before every start, so it must not start Django.
"""

from __future__ import annotations

from collections.abc import Mapping

from .environment import SetupPaths, parse_config
from .errors import RuntimeFailure
from .setup import Inputs, desired_state, read_bytes
from .state import compare, read_state
from .versions import InvenTreeVersion, read_api_version


def check(env: Mapping[str, str]) -> str:
    """One line saying setup is complete, or RuntimeFailure naming what differs."""
    paths = SetupPaths.from_env(env)
    config_text = read_bytes(paths.config_source, "the rendered config")
    inputs = Inputs(config_text, parse_config(config_text.decode("utf-8"), paths.config_source), None)
    tree = InvenTreeVersion(paths.source.version(), read_api_version(paths.source.backend_dir))
    recorded = read_state(paths.state_file)
    pending = compare(desired_state(paths, inputs, env, tree), recorded)
    if recorded is None or pending.migrate or pending.config_changed:
        if recorded is None:
            why = f"no setup state in {paths.state_file}"
        else:
            why = "changed: " + ", ".join(pending.migrate_reasons + (("config",) if pending.config_changed else ()))
        raise RuntimeFailure(
            f"setup has not completed for this configuration ({why}): see journalctl -u inventree-setup"
        )
    return f"setup-check: setup completed for InvenTree {tree.software} and this configuration"
