"""Activate the declared plugins and make their apps part of the migration (schema_migrate).

The module installs plugins into the Python environment (`pluginWorkspace`)
and declares which of them are active (`activePlugins`, InvenTree's
`plugins_mandatory`). InvenTree itself would not finish that on its own:

- it creates a plugin's database row (PluginConfig) only outside read-only
  commands, and `migrate` is one: loading a new plugin during `migrate`
  fails with "'NoneType' object has no attribute 'name'" and its app (and so
  its migrations) is left out. Upstream expects a click in the admin UI, a
  server start, and another `invoke migrate`.
- a plugin that fails to import is only logged, and the server runs on
  without it.

So right after the core migrations, in the same Django process, this stores
the row of every plugin found in the environment (as a server start would),
reloads InvenTree's plugin registry (which activates the declared plugins and
puts plugin apps into INSTALLED_APPS when ENABLE_PLUGINS_APP is on, as the
module sets it), and fails naming each declared plugin that did not load,
with the error InvenTree recorded for it. schema_migrate then runs
`migrate` again, which applies the plugins' own migrations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from .errors import RuntimeFailure


def missing_plugins(declared: Iterable[str], loaded: Iterable[str]) -> list[str]:
    """Declared plugin slugs the registry did not load, in declaration order."""
    present = set(loaded)
    return [slug for slug in declared if slug not in present]


def describe_errors(errors: Mapping[str, list]) -> str:
    """InvenTree's registry errors ({stage: [{path: message}]}) as one line each."""
    lines = []
    for stage, entries in errors.items():
        for entry in entries:
            for path, message in dict(entry).items():
                lines.append(f"{stage}: {path or '(unknown module)'}: {message}")
    return "; ".join(lines)


def plugin_slug(plugin) -> str:
    """The key InvenTree stores a plugin's row under (registry._init_plugin)."""
    from django.utils.text import slugify

    return slugify(getattr(plugin, "SLUG", None) or plugin.NAME)


def ensure_rows(config_model, plugins: Iterable, slug_of: Callable = plugin_slug) -> list[str]:
    """A PluginConfig row for every plugin found; returns the slugs it created. InvenTree makes
    them at a server start; without them, loading under `migrate` stops at the first plugin."""
    created = []
    for plugin in plugins:
        slug = slug_of(plugin)
        _row, new = config_model.objects.get_or_create(key=slug, defaults={"name": plugin.NAME})
        if new:
            created.append(slug)
    return created


def activate_declared() -> str | None:
    """Load the declared plugins; returns setup's line, or None when plugins are off."""
    from django.conf import settings
    from plugin import registry

    declared = list(settings.PLUGINS_MANDATORY or [])
    if not settings.PLUGINS_ENABLED or not declared:
        return None
    from plugin.models import PluginConfig

    registry.collect_plugins()
    ensure_rows(PluginConfig, registry.plugin_modules)
    # Mandatory plugins are activated by the load itself; plugin apps join INSTALLED_APPS.
    registry.reload_plugins(full_reload=True, force_reload=True, collect=True, clear_errors=True)
    missing = missing_plugins(declared, registry.plugins.keys())
    if missing:
        known = sorted(registry.plugins_full.keys())
        raise RuntimeFailure(
            f"declared plugin(s) did not load: {', '.join(missing)}. "
            f"InvenTree's plugin errors: {describe_errors(registry.errors) or 'none'}. "
            f"Plugins found in the environment: {', '.join(known) or 'none'} "
            "(a plugin is found when its package is in services.inventree.pluginWorkspace; "
            "activePlugins takes its slug)"
        )
    apps = sorted(getattr(registry, "installed_apps", []) or [])
    return f"plugins: active {', '.join(declared)}" + (f" (apps: {', '.join(apps)})" if apps else "")
