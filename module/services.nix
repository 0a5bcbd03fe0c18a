# The long-running units: inventree-server (gunicorn) and inventree-cluster (Django-Q2) — one
# of them only on a `web` or `worker` node (`role`) — grouped by inventree.target, both after the setup unit so they never race on a fresh
# database; plus the service user and the directories systemd does not manage.
#
# Recovery without a human (docs/nixos.md, "Recovery"): they Wants= setup, not Requires=, because
# Restart= does not cover a failed dependency: with Requires= one failed setup (database not up
# yet) would leave InvenTree down for good. Instead each start checks (ExecStartPre=, no Django)
# that setup has migrated for this exact configuration and fails otherwise; the restart that
# follows pulls the failed setup in again through Wants=, so setup is retried until its cause is
# gone, at most StartLimitBurst times per StartLimitIntervalSec.
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

  # Runtime directory of a unix socket bind under /run, e.g. "inventree".
  socketPath = lib.removePrefix "unix:" cfg.serverBind;
  socketRuntimeDir =
    if lib.hasPrefix "unix:/run/" cfg.serverBind then
      lib.removePrefix "/run/" (builtins.dirOf socketPath)
    else
      null;

  longRunning =
    {
      description,
      command,
      extra ? { },
    }:
    {
      inherit description;
      wantedBy = [ "inventree.target" ];
      partOf = [ "inventree.target" ];
      wants = [ "inventree-setup.service" ];
      after = [
        "network.target"
        "inventree-setup.service"
      ];
      # 20 starts per hour: with the database down, one cycle is setup's wait for it (60 s)
      # plus RestartSec, so InvenTree keeps retrying for about 25 minutes, then stays failed
      # (`systemctl reset-failed`, then start inventree.target).
      startLimitBurst = 20;
      startLimitIntervalSec = 3600;
      # A media store or backup directory outside systemd's own roots is often a mount (NFS
      # shared by several nodes): wait for it rather than write into the empty mount point.
      unitConfig = lib.optionalAttrs (units.unmanaged != [ ]) { RequiresMountsFor = units.unmanaged; };
      environment = units.environment;
      inherit (units) path;
      serviceConfig = lib.recursiveUpdate (
        units.base
        // {
          ExecStartPre = units.exec cfg.internal.commands.setup-check;
          ExecStart = units.exec command;
          LoadCredential = units.loadCredentials units.isServiceCredential;
          Restart = "on-failure";
          RestartSec = "10s";
        }
      ) extra;
    };
in
{
  config = lib.mkIf cfg.enable {
    systemd.targets.inventree = {
      description = "InvenTree inventory management (server and background worker)";
      wantedBy = [ "multi-user.target" ];
    };

    systemd.services.inventree-server = lib.mkIf (cfg.role != "worker") (longRunning {
      description = "InvenTree web server (gunicorn)";
      command = cfg.internal.commands.server;
      # No TimeoutStartSec=serverStartTimeout here: gunicorn is Type=simple, started as soon as
      # it is exec'd; the long part (migrations) is the setup unit's, which has it.
      extra =
        # gunicorn chowns its unix socket to its own user (as in nixpkgs' pretix module).
        lib.optionalAttrs (lib.hasPrefix "unix:" cfg.serverBind) {
          SystemCallFilter = units.base.SystemCallFilter ++ [ "@chown" ];
        }
        // lib.optionalAttrs (socketRuntimeDir != null) {
          RuntimeDirectory = (units.base.RuntimeDirectory or [ ]) ++ [ socketRuntimeDir ];
          # nginx (group member) must reach the socket.
          RuntimeDirectoryMode = "0750";
        };
    });

    systemd.services.inventree-cluster = lib.mkIf (cfg.role != "web") (longRunning {
      description = "InvenTree background worker (Django-Q2 qcluster)";
      command = cfg.internal.commands.cluster;
      extra = {
        # Let a running task finish (background.timeout) before systemd kills it.
        TimeoutStopSec = "${toString (cfg.background.timeout + 30)}s";
      };
    });

    systemd.tmpfiles.rules = units.tmpfilesRules;

    users.users = lib.optionalAttrs (cfg.user == "inventree") {
      inventree = {
        isSystemUser = true;
        inherit (cfg) group;
        home = cfg.dataDir;
        description = "InvenTree service user";
      };
    };
    users.groups = lib.optionalAttrs (cfg.group == "inventree") { inventree = { }; };
  };
}
