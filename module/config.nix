# The module's own config.yaml values, every leaf `lib.mkDefault` so `services.inventree.config`
# overrides any of them. Database and cache keys are set by database.nix and cache.nix; site_url
# and allowed_hosts are declared options with defaults (compat/seed-flake.nix).
# No secret ever goes here: the file is in the world-readable store.
{ config, lib, ... }:
let
  cfg = config.services.inventree;
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

        # Plugins install Python packages at run time, which a store-based install cannot do.
        plugins_enabled = false;
        plugin_noinstall = true;
        plugin_dir = "${cfg.dataDir}/plugins";
        plugin_file = "${cfg.dataDir}/plugins.txt";

        background = {
          inherit (cfg.background) workers timeout;
        };
      }
      # Behind the module's nginx, trust the scheme it forwards (it overwrites the header).
      // lib.optionalAttrs cfg.nginx.enable {
        use_x_forwarded_proto = true;
        use_x_forwarded_host = true;
      }
    );
  };
}
