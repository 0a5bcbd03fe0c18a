# Stopping the server and the worker around a backup or a restore, and starting again exactly
# what ran before: an admin who stopped InvenTree finds it stopped afterwards, one who did not
# finds it running. (Conflicts= would do neither: it stops them and never starts them again.)
# Both scripts run as root, outside the sandbox (`+` in ExecStartPre=, or the admin's shell):
# only systemd can stop and start units. The list of what was stopped lives in one file.
{
  config,
  lib,
  pkgs,
}:
let
  systemctl = lib.getExe' config.systemd.package "systemctl";
  longRunning = [
    "inventree-server.service"
    "inventree-cluster.service"
  ];
in
{
  # `stop FILE`: stop server and worker; FILE lists those that were running or starting.
  stop = pkgs.writeShellScript "inventree-quiesce-stop" ''
    set -eu
    record=$1
    : > "$record"
    for unit in ${lib.escapeShellArgs longRunning}; do
      state=$(${systemctl} is-active "$unit" || true)
      case "$state" in
        active | activating | reloading)
          echo "$unit" >> "$record"
          echo "stopping $unit (it was $state)"
          ;;
        *) echo "$unit is $state: left as it is" ;;
      esac
    done
    if [ -s "$record" ]; then
      # shellcheck disable=SC2046 # one unit name per line, no spaces
      ${systemctl} stop $(${pkgs.coreutils}/bin/cat "$record")
    fi
  '';

  # `resume FILE`: start again what `stop FILE` stopped, then remove FILE.
  resume = pkgs.writeShellScript "inventree-quiesce-resume" ''
    set -eu
    record=$1
    if [ ! -f "$record" ]; then
      echo "nothing was stopped, nothing to start"
      exit 0
    fi
    units=$(${pkgs.coreutils}/bin/cat "$record")
    ${pkgs.coreutils}/bin/rm -f "$record"
    if [ -z "$units" ]; then
      echo "InvenTree was not running before: left stopped"
      exit 0
    fi
    echo "starting again:" $units
    # shellcheck disable=SC2086 # one unit name per line, no spaces
    ${systemctl} start $units
  '';
}
