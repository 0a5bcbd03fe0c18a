"""Declared plugin settings (`services.inventree.pluginSettings`): the values on a plugin's
settings page, by plugin slug and setting key, carried in the users file (`plugin_settings`, so
they are applied with the users, when that file changes or after a migration).

Parsing is stdlib-only; `apply` runs inside Django (users_apply), with InvenTree's plugin registry
loaded, and sets each value through the plugin (`SettingsMixin.set_setting`), which validates it
as the web UI would. A slug that is not a loaded plugin, or a key the plugin does not define,
fails naming it and what there is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .errors import RuntimeFailure

SCALARS = (str, bool, int, float)


def parse(data: object, origin: str) -> dict[str, dict[str, object]]:
    """{slug: {KEY: scalar}}, validated; every problem at once."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RuntimeFailure(f"{origin}: 'plugin_settings' must map plugin slugs to their settings")
    problems = []
    for slug, settings in data.items():
        if not isinstance(settings, dict):
            problems.append(f"plugin {slug!r}: settings must be an object")
            continue
        for key, value in settings.items():
            if not isinstance(value, SCALARS):
                problems.append(f"plugin {slug!r}: {key} must be a string, number or true/false")
    if problems:
        raise RuntimeFailure(f"{origin} is invalid:\n  " + "\n  ".join(problems))
    return {slug: dict(settings) for slug, settings in data.items()}


def as_setting(value: object) -> str:
    """The text InvenTree stores (booleans as its own `True`/`False`)."""
    return str(value)


def apply(declared: Mapping[str, Mapping[str, object]], plugin_of: Callable, report: Callable[[str], None]) -> None:
    """Set every declared value on its plugin (`plugin_of(slug)`: the loaded plugin or None)."""
    for slug, settings in sorted(declared.items()):
        plugin = plugin_of(slug)
        if plugin is None:
            raise RuntimeFailure(
                f"plugin settings are declared for {slug!r}, which is not a loaded plugin "
                "(list it in services.inventree.activePlugins)"
            )
        known = getattr(plugin, "settings", None) or {}
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise RuntimeFailure(
                f"plugin {slug!r} has no setting {', '.join(unknown)}; its settings: {', '.join(sorted(known)) or 'none'}"
            )
        changed = []
        for key, value in sorted(settings.items()):
            if str(plugin.get_setting(key)) != as_setting(value):
                plugin.set_setting(key, as_setting(value))
                changed.append(key)
        report(f"plugin settings: {slug}: " + (f"set {', '.join(changed)}" if changed else "unchanged"))
