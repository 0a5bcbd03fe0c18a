# The setup unit: one run of the runtime's `setup` (install config.yaml, ensure the secret key
# and directories, migrate only when the version or config changed, deploy static files, apply
# declared users) before server and worker start. A oneshot that stays active, so restarting
# the server alone does not re-run it, while a changed config or package restarts it (its unit
# text changes). It has no Restart= of its own: server and worker only Wants= it, and each of
# their restarts (Restart=on-failure, bounded by StartLimitBurst=) starts a failed setup again
# (services.nix; docs/nixos.md, "Recovery"). Before running, it waits (bounded) for the
# database server, so a database that comes up a little later costs no failure at all.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}:
let
  cfg = config.services.inventree;
  units = import ./lib/service-config.nix { inherit config lib pkgs utils; };
  inherit (cfg.internal) settings;
  sqliteDir = builtins.dirOf cfg.database.name;
in
{
  config = lib.mkIf cfg.enable {
    systemd.services.inventree-setup = {
      description = "InvenTree setup (config, migrations, static files, users)";
      wantedBy = [ "inventree.target" ];
      partOf = [ "inventree.target" ];
      before = [
        "inventree-server.service"
        "inventree-cluster.service"
      ];
      after = [ "network.target" ];
      # As the long-running units (services.nix): a shared media store is mounted first.
      unitConfig = lib.optionalAttrs (units.unmanaged != [ ]) { RequiresMountsFor = units.unmanaged; };
      environment = units.environment;
      inherit (units) path;
      serviceConfig = lib.recursiveUpdate units.base (
        {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = units.exec cfg.internal.commands.setup;
          # Setup needs every credential, user passwords included.
          LoadCredential = units.loadCredentials (_: true);
          # Long migrations after an upgrade happen here; the wait for the database counts too.
          TimeoutStartSec = cfg.serverStartTimeout;
        }
        # SQLite has no server to wait for: spare a process start on every setup run.
        // lib.optionalAttrs (cfg.database.type != "sqlite") {
          ExecStartPre = units.exec cfg.internal.commands.wait-for-db;
        }
      );
    };

    # The data dir is group-readable so nginx (when enabled) can serve media and static files;
    # what the group must not read lives in directories only the service user can enter: the
    # SQLite database (password hashes, sessions), the OIDC signing key, the backups.
    systemd.tmpfiles.rules = map (dir: "d '${dir}' 0700 ${cfg.user} ${cfg.group} - -") (
      lib.optional (cfg.database.type == "sqlite") sqliteDir
      ++ lib.optional (settings ? oidc_private_key_file) (builtins.dirOf settings.oidc_private_key_file)
      ++ lib.optional (settings ? backup_dir) settings.backup_dir
    );
  };
}
