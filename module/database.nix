# Database: SQLite under dataDir by default; PostgreSQL or MySQL/MariaDB created on this host
# and reached over their unix socket with peer / unix_socket authentication (no password at
# all), or a remote server with a password file delivered as the credential INVENTREE_DB_PASSWORD.
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
  db = cfg.database;
  secretPath = import ./lib/secret-path.nix { inherit lib; };

  local = db.type != "sqlite" && db.createLocally;
  pgLocal = local && db.type == "postgresql";
  mysqlLocal = local && db.type == "mysql";

  # The systemd unit a local server is ready at.
  localServerUnit = if pgLocal then "postgresql.target" else "mysql.service";

  engineSettings =
    if db.type == "sqlite" then
      {
        ENGINE = "sqlite3";
        NAME = db.name;
      }
    else
      {
        ENGINE = db.type;
        NAME = db.name;
        USER = db.user;
      }
      // lib.optionalAttrs (db.socket != null || db.host != null) {
        # Django treats a HOST starting with "/" as a unix socket (directory for PostgreSQL,
        # socket file for MySQL).
        HOST = if db.socket != null then db.socket else db.host;
      }
      // lib.optionalAttrs (db.socket == null && db.port != null) { PORT = db.port; };
in
{
  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        services.inventree.config.database = lib.mapAttrs (_: lib.mkDefault) engineSettings;

        services.inventree.internal.credentials = lib.optionalAttrs (db.passwordFile != null) {
          INVENTREE_DB_PASSWORD = secretPath.toPathString db.passwordFile;
        };
      }

      (lib.mkIf pgLocal {
        services.postgresql = {
          enable = true;
          ensureDatabases = [ db.name ];
          ensureUsers = [
            {
              name = db.user;
              ensureDBOwnership = true;
            }
          ];
        };
      })

      (lib.mkIf mysqlLocal {
        services.mysql = {
          enable = true;
          package = lib.mkDefault pkgs.mariadb;
          ensureDatabases = [ db.name ];
          ensureUsers = [
            {
              name = db.user;
              ensurePermissions."${db.name}.*" = "ALL PRIVILEGES";
            }
          ];
        };
      })

      # A remote server needs the network up, not just configured.
      (lib.mkIf (db.type != "sqlite" && !db.createLocally && db.host != null) {
        systemd.services = lib.genAttrs units.inventreeServices (_: {
          wants = [ "network-online.target" ];
          after = [ "network-online.target" ];
        });
      })

      (lib.mkIf local {
        systemd.services = lib.genAttrs units.inventreeServices (_: {
          requires = [ localServerUnit ];
          after = [ localServerUnit ];
        });
      })
    ]
  );
}
