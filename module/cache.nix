# Shared Redis cache: lets InvenTree run several background workers and lets the web server see
# the worker. Local by default: `services.redis.servers.inventree` on loopback TCP.
#
# Why TCP and not the unix socket: InvenTree (InvenTree/cache.py) always builds
# `redis://host:port/0` and passes TCP keepalive options that a unix connection rejects, so a
# socket would need a patch of InvenTree. Loopback TCP is reachable by every local user, and
# the Django-Q2 broker pickles tasks into Redis, so the local server always requires a password:
# the admin's `passwordFile`, or one generated on first start by `inventree-cache-password`.
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
  cache = cfg.cache;
  secretPath = import ./lib/secret-path.nix { inherit lib; };

  local = cache.enable && cache.createLocally;
  generatePassword = local && cache.passwordFile == null;

  generatedPasswordFile = "/var/lib/inventree-cache-password/password";
  passwordFile =
    if cache.passwordFile != null then secretPath.toPathString cache.passwordFile else generatedPasswordFile;
in
{
  config = lib.mkIf (cfg.enable && cache.enable) (
    lib.mkMerge [
      {
        services.inventree.config.cache = lib.mapAttrs (_: lib.mkDefault) {
          enabled = true;
          inherit (cache) host port;
        };

        services.inventree.internal.credentials =
          lib.optionalAttrs (cache.passwordFile != null || generatePassword)
            {
              INVENTREE_CACHE_PASSWORD = passwordFile;
            };
      }

      (lib.mkIf local {
        services.redis.servers.inventree = {
          enable = true;
          bind = "127.0.0.1";
          inherit (cache) port;
          requirePassFile = passwordFile;
          # The cache holds nothing that must survive a restart.
          save = [ ];
        };

        # Wants=, not Requires=: the cache is not needed to serve. InvenTree falls back to the
        # database when Redis fails and the worker waits for its broker, so a Redis that is
        # stopped, restarted by a configuration change, or fails to start must not stop or
        # restart InvenTree with it (Requires= would); the systemd tier's Redis-down scenario
        # proves the server keeps answering and keeps its process.
        systemd.services = lib.genAttrs units.inventreeServices (_: {
          wants = [ "redis-inventree.service" ];
          after = [ "redis-inventree.service" ];
        });
      })

      (lib.mkIf (!cache.createLocally) {
        systemd.services = lib.genAttrs units.inventreeServices (_: {
          wants = [ "network-online.target" ];
          after = [ "network-online.target" ];
        });
      })

      (lib.mkIf generatePassword {
        # Creates the password once (hex: InvenTree puts it into an URL unescaped), as a dynamic
        # user into a 0700 state directory under /var/lib/private; only root reads it: Redis's
        # ExecStartPre (requirePassFile) and systemd's LoadCredential= for the InvenTree units.
        systemd.services.inventree-cache-password = {
          description = "Generate the password of InvenTree's Redis cache";
          requiredBy = [ "redis-inventree.service" ];
          before = [ "redis-inventree.service" ];
          unitConfig.ConditionPathExists = "!${generatedPasswordFile}";
          serviceConfig =
            lib.removeAttrs units.base [
              "User"
              "Group"
              "WorkingDirectory"
              "ReadWritePaths"
              "StateDirectory"
              "StateDirectoryMode"
              "CacheDirectory"
              "LogsDirectory"
              "ConfigurationDirectory"
              "RuntimeDirectory"
              "RuntimeDirectoryPreserve"
            ]
            // {
              Type = "oneshot";
              DynamicUser = true;
              StateDirectory = "inventree-cache-password";
              StateDirectoryMode = "0700";
              UMask = "0077";
              PrivateNetwork = true;
              RestrictAddressFamilies = [ "none" ];
              IPAddressDeny = "any";
              ExecStart = pkgs.writeShellScript "inventree-cache-password" ''
                set -eu
                file=${lib.escapeShellArg generatedPasswordFile}
                ${pkgs.coreutils}/bin/od -An -N32 -tx1 /dev/urandom | ${pkgs.coreutils}/bin/tr -d ' \n' > "$file.tmp"
                ${pkgs.coreutils}/bin/mv "$file.tmp" "$file"
              '';
            };
        };
      })
    ]
  );
}
