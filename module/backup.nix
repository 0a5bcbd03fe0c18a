# Optional backups on a timer: InvenTree's own `invoke backup` (django-dbbackup `dbbackup` and
# `mediabackup`, compressed) into backup.directory, then only the newest `keep` database and
# media archives are kept (dbbackup's own --clean count is not configurable from config.yaml).
#
# One consistent moment: server and worker are stopped for the duration (lib/quiesce.nix), so
# nothing writes between the database dump and the media archive, and started again afterwards
# only if they ran before. The unit does not pull setup in (a timer firing during maintenance
# must not start it): it is ordered after setup and skipped until setup has migrated once.
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
  quiesce = import ./lib/quiesce.nix { inherit config lib pkgs; };

  # What the backup stopped, for its ExecStopPost= to start again.
  stoppedUnits = "/run/inventree-backup-stopped-units";

  # Default file name templates of InvenTree/backup.py: InvenTree-db-… and InvenTree-media-….
  prune = pkgs.writeShellScript "inventree-backup-prune" ''
    set -eu
    cd ${lib.escapeShellArg cfg.backup.directory}
    # An archive's `.metadata` sidecar (django-dbbackup writes one beside each database dump)
    # is not a backup of its own: it is counted with its archive and removed with it.
    for kind in db media; do
      ${pkgs.findutils}/bin/find . -maxdepth 1 -type f -name "InvenTree-$kind-*" ! -name '*.metadata' -printf '%T@ %P\0' \
        | ${pkgs.coreutils}/bin/sort -z -n -r \
        | ${pkgs.coreutils}/bin/tail -z -n +${toString (cfg.backup.keep + 1)} \
        | ${pkgs.coreutils}/bin/cut -z -d ' ' -f 2- \
        | while IFS= read -r -d "" archive; do
          ${pkgs.coreutils}/bin/rm -v -f -- "$archive" "$archive.metadata"
        done
    done
  '';
in
{
  config = lib.mkIf (cfg.enable && cfg.backup.enable) {
    services.inventree.internal.scripts = [
      prune
      quiesce.stop
      quiesce.resume
    ];
    systemd.services.inventree-backup = {
      description = "InvenTree backup (database and media)";
      after = [ "inventree-setup.service" ];
      # Written by setup after its first migration (runtime/inventree_runtime/state.py).
      unitConfig.ConditionPathExists = "${cfg.dataDir}/.setup-state.json";
      startAt = cfg.backup.startAt;
      environment = units.environment;
      inherit (units) path;
      serviceConfig = lib.recursiveUpdate units.base {
        Type = "oneshot";
        # `+`: as root outside the sandbox, the only way to stop and start other units.
        ExecStartPre = "+${quiesce.stop} ${stoppedUnits}";
        ExecStart = units.exec [
          "invoke"
          "backup"
        ];
        ExecStartPost = prune;
        # Runs after a failed backup too: InvenTree never stays down because of a backup.
        ExecStopPost = "+${quiesce.resume} ${stoppedUnits}";
        LoadCredential = units.loadCredentials units.isServiceCredential;
        # A backup is not urgent: let the web server and worker have the machine.
        Nice = 10;
        IOSchedulingClass = "idle";
      };
    };
  };
}
