# The module's own config.yaml values, every leaf `lib.mkDefault` so `services.inventree.config`
# overrides any of them. Database and cache keys are set by database.nix and cache.nix; site_url
# and allowed_hosts are declared options with defaults (compat/seed-flake.nix).
# No secret ever goes here: the file is in the world-readable store.
{ config, lib, ... }:
let
  cfg = config.services.inventree;
  pluginsEnabled = cfg.pluginWorkspace != null || cfg.activePlugins != [ ];
  # InvenTree's switches for what plugins may hook into (plugin/registry.py, plugin_settings_keys).
  pluginIntegrations = [
    "ENABLE_PLUGINS_APP"
    "ENABLE_PLUGINS_URL"
    "ENABLE_PLUGINS_NAVIGATION"
    "ENABLE_PLUGINS_EVENTS"
    "ENABLE_PLUGINS_SCHEDULE"
    "ENABLE_PLUGINS_INTERFACE"
    "ENABLE_PLUGINS_MAILS"
  ];
in
{
  config = lib.mkIf cfg.enable {
    services.inventree.config = lib.mapAttrsRecursive (_: lib.mkDefault) (
      {
        debug = false;
        # Upgrades are applied by the setup unit, never by InvenTree itself.
        auto_update = false;
        console_log = true;
        write_log = false;

        # Everything InvenTree writes lives under dataDir; the store is read-only.
        static_root = "${cfg.dataDir}/static";
        media_root = "${cfg.dataDir}/media";
        backup_dir = cfg.backup.directory;
        oidc_private_key_file = "${cfg.dataDir}/keys/oidc.pem";

        # Plugins come from pluginWorkspace, built into the Python environment: InvenTree's own
        # installer (pip at run time, into the read-only store) stays off either way.
        plugins_enabled = pluginsEnabled;
        plugin_noinstall = true;
        plugin_dir = "${cfg.dataDir}/plugins";
        plugin_file = "${cfg.dataDir}/plugins.txt";

        background = {
          inherit (cfg.background) workers timeout;
        };
      }
      # Declared plugins are active and get the integrations they use (options.nix,
      # activePlugins); only keys that exist when there are plugins, so configurations without
      # any render as before (a new key would re-run their migrations, state.py).
      // lib.optionalAttrs (cfg.activePlugins != [ ]) {
        plugins_mandatory = cfg.activePlugins;
      }
      // lib.optionalAttrs pluginsEnabled {
        global_settings = lib.genAttrs pluginIntegrations (_: true);
      }
      # Behind the module's nginx, trust the scheme it forwards (it overwrites the header).
      // lib.optionalAttrs cfg.nginx.enable {
        use_x_forwarded_proto = true;
        use_x_forwarded_host = true;
      }
    );
  };
}
