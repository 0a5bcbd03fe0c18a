"""Store InvenTree's global settings defaults (run by the migrate program, schema_migrate).

Why setup does this: InvenTree creates a global setting row the first time
the setting is read, through the setting's `save()`, which runs the
setting's `after_save` hook. The hook of LOGIN_ENFORCE_MFA ends every user
session, and the setting is first read by InvenTree's MFA middleware on the
first request carrying a session. So on a fresh database the first person
to log in through the web UI is logged out by their own requests: the login
answers 200, the first request after it still answers, the next one is a
401 and the session cookie is deleted. Measured on a fresh host-tier
instance, and reproduced by deleting the row again.

InvenTree's own `InvenTreeSetting.build_default_values()` (what the global
settings page calls) stores every missing setting with its default through
`bulk_create`, which runs no hooks. The migrate program calls it right after
each migration, in the same Django process, as that is when settings can be
missing: a new database, or a release that added settings.
"""

from __future__ import annotations

from .errors import RuntimeFailure


def defined_keys(setting_model) -> set[str]:
    """Global settings InvenTree defines and stores defaults for (private `_` keys are its own)."""
    return {key for key in setting_model.SETTINGS if not key.startswith("_")}


def missing_keys(setting_model) -> set[str]:
    """Global settings InvenTree defines but the database lacks."""
    stored = set(setting_model.objects.values_list("key", flat=True))
    return defined_keys(setting_model) - stored


def store_defaults(setting_model) -> str:
    """Store every missing global setting with its default; the line says how many."""
    missing = missing_keys(setting_model)
    if not missing:
        return f"settings: all {len(defined_keys(setting_model))} global settings present"
    # InvenTree logs and swallows its own errors here; the check below catches them.
    setting_model.build_default_values()
    still_missing = missing_keys(setting_model)
    if still_missing:
        raise RuntimeFailure(
            "storing InvenTree's global settings defaults failed; still missing: "
            + ", ".join(sorted(still_missing))
        )
    return f"settings: stored {len(missing)} global defaults"
