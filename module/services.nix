# The long-running units: inventree-server (gunicorn) and inventree-cluster (Django-Q2),
# grouped by inventree.target, both after the setup unit so they never race on a fresh
# database; plus the service user and the directories systemd does not manage.
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
      requires = [ "inventree-setup.service" ];
      after = [
        "network.target"
        "inventree-setup.service"
      ];
      environment = units.environment;
      inherit (units) path;
      serviceConfig = lib.recursiveUpdate (
        units.base
        // {
          ExecStart = units.exec command;
          LoadCredential = units.loadCredentials units.isServiceCredential;
          Restart = "on-failure";
          RestartSec = "5s";
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

    systemd.services.inventree-server = longRunning {
      description = "InvenTree web server (gunicorn)";
      command = cfg.internal.commands.server;
      extra = {
        TimeoutStartSec = cfg.serverStartTimeout;
      }
      # gunicorn chowns its unix socket to its own user (as in nixpkgs' pretix module).
      // lib.optionalAttrs (lib.hasPrefix "unix:" cfg.serverBind) {
        SystemCallFilter = units.base.SystemCallFilter ++ [ "@chown" ];
      }
      // lib.optionalAttrs (socketRuntimeDir != null) {
        RuntimeDirectory = (units.base.RuntimeDirectory or [ ]) ++ [ socketRuntimeDir ];
        # nginx (group member) must reach the socket.
        RuntimeDirectoryMode = "0750";
      };
    };

    systemd.services.inventree-cluster = longRunning {
      description = "InvenTree background worker (Django-Q2 qcluster)";
      command = cfg.internal.commands.cluster;
      extra = {
        # Let a running task finish (background.timeout) before systemd kills it.
        TimeoutStopSec = "${toString (cfg.background.timeout + 30)}s";
      };
    };

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
