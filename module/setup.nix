# The setup unit: one run of the runtime's `setup` (install config.yaml, ensure the secret key
# and directories, migrate only when the version or config changed, deploy static files, apply
# declared users) before server and worker start. A oneshot that stays active, so restarting
# the server alone does not re-run it, while a changed config or package restarts it (its unit
# text changes) and, through Requires=, the units after it.
{
  config,
  lib,
  utils,
  ...
}:
let
  cfg = config.services.inventree;
  units = import ./lib/service-config.nix { inherit lib utils cfg; };
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
      environment = units.environment;
      serviceConfig = lib.recursiveUpdate units.base {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = units.exec cfg.internal.commands.setup;
        # Setup needs every credential, user passwords included.
        LoadCredential = units.loadCredentials (_: true);
        TimeoutStartSec = cfg.serverStartTimeout;
      };
    };

    # The SQLite database (password hashes, sessions) lives in a directory only the service user
    # can read; the data dir itself is group-readable so nginx can serve media and static files.
    systemd.tmpfiles.rules = lib.optional (
      cfg.database.type == "sqlite"
    ) "d '${sqliteDir}' 0700 ${cfg.user} ${cfg.group} - -";
  };
}
