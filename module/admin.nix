# `inventree-invoke`, `inventree-manage` and `inventree-restore` on the PATH, pointed at the
# service's config.
#
# They run the command as a transient systemd unit (`systemd-run`) with the same user,
# environment, credentials (LoadCredential=) and sandbox as the services. Why not sudo/runuser:
# the database and cache passwords and the secret key exist only as systemd credentials, and
# only systemd can hand them to a process in the same form as to the units; the command then
# also sees the same read-only system and writable paths as the services. Needs root (or
# polkit's permission to start units); output and exit status are passed through.
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

  propertyValue = v: if builtins.isBool v then lib.boolToString v else toString v;

  # `-p Key=Value` arguments: one per list element, as if each were a line of a unit file.
  properties = lib.concatLists (
    lib.mapAttrsToList (
      key: value:
      map (v: "--property=${key}=${propertyValue v}") (if builtins.isList value then value else [ value ])
    ) (lib.filterAttrs (_: v: v != null) units.base)
  );

  credentials = map (c: "--property=LoadCredential=${c}") (
    units.loadCredentials units.isServiceCredential
  );

  environment = lib.mapAttrsToList (name: value: "--setenv=${name}=${value}") (
    units.environment // { PATH = lib.makeBinPath ([ pkgs.coreutils ] ++ units.path); }
  );

  rootAndTerminal = name: ''
    if [ "$(${pkgs.coreutils}/bin/id -u)" != 0 ]; then
      echo "${name}: run it as root (e.g. sudo ${name} ...): it runs as user ${cfg.user} with the service's credentials" >&2
      exit 1
    fi
    # An interactive terminal gets a pseudo-terminal (shell, createsuperuser); otherwise
    # stdin/stdout/stderr are passed through so the command can be used in pipes.
    if [ -t 0 ] && [ -t 1 ]; then io=--pty; else io=--pipe; fi
  '';

  # The runtime's `inventree-<sub> "$@"` as a transient unit with the service's sandbox.
  inService = sub: ''
    ${lib.getExe' config.systemd.package "systemd-run"} \
      --quiet --collect --wait --service-type=exec "$io" \
      --description=${lib.escapeShellArg "InvenTree admin command: inventree-${sub}"} \
      ${lib.escapeShellArgs (properties ++ credentials ++ environment)} \
      -- ${lib.escapeShellArg (units.wrapperOf sub)} "$@"'';

  wrapper =
    sub:
    pkgs.writeShellScriptBin "inventree-${sub}" ''
      set -eu
      ${rootAndTerminal "inventree-${sub}"}
      exec ${inService sub}
    '';

  systemctl = lib.getExe' config.systemd.package "systemctl";
  quiesce = import ./lib/quiesce.nix { inherit config lib pkgs; };

  # `inventree-restore [--database FILE] [--media FILE]`: name the backups (runtime `restore
  # --plan`), stop, restore (runtime `restore`: newest or named backup, setup state cleared),
  # re-run setup (migrates an older backup), start again what ran before. Each step says what it does; a failed step leaves InvenTree
  # stopped and says how to go on.
  restore = pkgs.writeShellScriptBin "inventree-restore" ''
    set -eu
    ${rootAndTerminal "inventree-restore"}
    say() { echo "inventree-restore: $*"; }
    record=/run/inventree-restore-stopped-units
    case " $* " in
      *" -h "* | *" --help "*) exec ${inService "restore"} ;;
    esac
    # Name the backups first: when one is missing, nothing has been stopped or changed.
    if ! ${inService "restore"} --plan; then
      say "nothing was stopped or changed"
      exit 1
    fi
    # A running backup would start InvenTree again when it ends (its ExecStopPost=).
    ${systemctl} stop inventree-backup.service 2>/dev/null || true
    say "stopping InvenTree"
    ${quiesce.stop} "$record"
    if ! ${inService "restore"}; then
      say "the restore failed (see above): InvenTree is left stopped and the database may be partly restored. Fix the cause and run inventree-restore again (systemctl start inventree.target would run setup on whatever the database now holds)"
      exit 1
    fi
    say "running setup (migrates the restored database, applies the declared users)"
    if ! ${systemctl} restart inventree-setup.service; then
      say "setup failed: see journalctl -u inventree-setup. InvenTree is left stopped; start it with: systemctl start inventree.target"
      exit 1
    fi
    ${quiesce.resume} "$record"
    say "done"
  '';
in
{
  config = lib.mkIf cfg.enable {
    services.inventree.internal.scripts = [
      quiesce.stop
      quiesce.resume
    ];
    environment.systemPackages = [
      (wrapper "invoke")
      (wrapper "manage")
      restore
    ];
  };
}
