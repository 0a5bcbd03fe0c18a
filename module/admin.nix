# `inventree-invoke` and `inventree-manage` on the PATH, pointed at the service's config.
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

  wrapper =
    sub:
    pkgs.writeShellScriptBin "inventree-${sub}" ''
      set -eu
      if [ "$(${pkgs.coreutils}/bin/id -u)" != 0 ]; then
        echo "inventree-${sub}: run it as root (e.g. sudo inventree-${sub} ...): it runs as user ${cfg.user} with the service's credentials" >&2
        exit 1
      fi
      # An interactive terminal gets a pseudo-terminal (shell, createsuperuser); otherwise
      # stdin/stdout/stderr are passed through so the command can be used in pipes.
      if [ -t 0 ] && [ -t 1 ]; then io=--pty; else io=--pipe; fi
      exec ${lib.getExe' config.systemd.package "systemd-run"} \
        --quiet --collect --wait --service-type=exec "$io" \
        --description=${lib.escapeShellArg "InvenTree admin command: inventree-${sub}"} \
        ${lib.escapeShellArgs (properties ++ credentials ++ environment)} \
        -- ${lib.escapeShellArg (units.wrapperOf sub)} "$@"
    '';
in
{
  config = lib.mkIf cfg.enable {
    environment.systemPackages = [
      (wrapper "invoke")
      (wrapper "manage")
    ];
  };
}
