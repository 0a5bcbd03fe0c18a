# `services.inventree.internal`: what every unit, the admin commands and the harness share
# (docs/ARCHITECTURE.md). Units are built only from these values, so the harness's host tier,
# which reads them from an evaluation, runs exactly what the units run.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.inventree;
  inherit (cfg.internal) settings;
  secretPath = import ./lib/secret-path.nix { inherit lib; };

  isUnixBind = lib.hasPrefix "unix:" cfg.serverBind;

  # How long setup waits for the database server before it fails (and the server's and
  # worker's restarts retry it): docs/nixos.md, "Recovery".
  databaseWaitSeconds = 60;

  # validation.nix refuses plugins with a package set that cannot take them (no overrideScope).
  pluginsDeclared = cfg.pluginWorkspace != null || cfg.pluginOverrides != null;
in
{
  options.services.inventree.internal = lib.mkOption {
    internal = true;
    description = ''
      Values shared by the units, the admin commands and the harness. Set by the module only.
    '';
    type = lib.types.submodule {
      options = {
        environment = lib.mkOption {
          type = lib.types.attrsOf lib.types.str;
          description = "Environment of every InvenTree process (no secret in it).";
        };
        credentials = lib.mkOption {
          type = lib.types.attrsOf lib.types.str;
          default = { };
          description = "systemd credential name → absolute path of its source file.";
        };
        packages = lib.mkOption {
          type = lib.types.lazyAttrsOf lib.types.raw;
          description = ''
            The package scope the units run: `services.inventree.packages`, with the plugins
            (`pluginWorkspace`, `pluginOverrides`) in its Python environment when declared.
          '';
        };
        settings = lib.mkOption {
          type = lib.types.attrsOf lib.types.anything;
          description = "The attribute set rendered to config.yaml.";
        };
        configFile = lib.mkOption {
          type = lib.types.path;
          description = "config.yaml in the store (JSON text, which is valid YAML).";
        };
        usersJson = lib.mkOption {
          type = lib.types.str;
          description = "The declared users as JSON (no password, only credential names).";
        };
        scripts = lib.mkOption {
          type = lib.types.listOf lib.types.package;
          default = [ ];
          description = ''
            Every script the module writes (`writeShellScript` and friends) that a unit or an admin
            command runs, so the harness can install the same text (src/eval/inspect.nix).
          '';
        };
        commands = lib.mkOption {
          type = lib.types.attrsOf (lib.types.listOf lib.types.str);
          description = "Runtime argv (after `python -m inventree_runtime`) of setup, server, cluster, setup-check and wait-for-db.";
        };
      };
    };
  };

  config = lib.mkIf cfg.enable {
    services.inventree.internal = {
      packages =
        if pluginsDeclared && cfg.packages ? overrideScope then
          cfg.packages.overrideScope (
            _final: _prev: { inherit (cfg) pluginWorkspace pluginOverrides; }
          )
        else
          cfg.packages;

      # Freeform values are merged already; nulls are dropped so `foo = null` removes a key.
      settings = lib.filterAttrsRecursive (_: v: v != null) cfg.config;

      configFile = pkgs.writeText "inventree-config.yaml" (builtins.toJSON settings);

      environment = {
        INVENTREE_SRC = toString cfg.internal.packages.src;
        INVENTREE_DATA_DIR = cfg.dataDir;
        INVENTREE_CONFIG_FILE = "${cfg.dataDir}/config.yaml";
        INVENTREE_CONFIG_SOURCE = toString cfg.internal.configFile;
        INVENTREE_SITE_URL = cfg.siteUrl;
        INVENTREE_ALLOWED_HOSTS = lib.concatStringsSep "," (settings.allowed_hosts or [ "*" ]);
        INVENTREE_USERS_FILE = toString (pkgs.writeText "inventree-users.json" cfg.internal.usersJson);
        # Write logs to the journal only; no log file in the state directory.
        INVENTREE_CONSOLE_LOG = "true";
        INVENTREE_WRITE_LOG = "false";
        # Labels and reports: WeasyPrint finds cfg.fonts plus what the system's fontconfig
        # adds (/etc/fonts/conf.d: aliases, `fonts.packages`), never /usr/share/fonts or a
        # profile: on a NixOS without fonts the printed PDFs still have text.
        FONTCONFIG_FILE = toString (
          pkgs.makeFontsConf {
            fontDirectories = cfg.fonts;
            impureFontDirectories = [ ];
          }
        );
      }
      # With secretKeyFile the key arrives as the credential INVENTREE_SECRET_KEY, which the
      # runtime exports as that variable; InvenTree prefers it over any key file.
      // lib.optionalAttrs (cfg.secretKeyFile == null) {
        INVENTREE_SECRET_KEY_FILE = "${cfg.dataDir}/secret_key.txt";
      }
      # The Python environment with the plugins: its store path changes with the plugins' lock,
      # and setup counts INVENTREE_PLUGIN* variables for the schema (state.py), so a plugin
      # upgrade bringing new migrations is migrated. InvenTree does not read this variable.
      // lib.optionalAttrs pluginsDeclared {
        INVENTREE_PLUGIN_ENVIRONMENT = toString cfg.internal.packages.python;
      }
      // lib.optionalAttrs (cfg.internal.packages.src ? static) {
        INVENTREE_STATIC_SOURCE = toString cfg.internal.packages.src.static;
      };

      credentials =
        lib.optionalAttrs (cfg.secretKeyFile != null) {
          INVENTREE_SECRET_KEY = secretPath.toPathString cfg.secretKeyFile;
        }
        // lib.mapAttrs (_: secretPath.toPathString) cfg.extraCredentials;

      commands = {
        setup = [ "setup" ];
        server = [
          "server"
          "--bind"
          cfg.serverBind
          "--timeout"
          (toString cfg.server.timeout)
        ]
        ++ lib.optionals (cfg.server.workers != null) [
          "--workers"
          (toString cfg.server.workers)
        ]
        # The socket must be writable by the group (nginx joins it); gunicorn applies this umask
        # only while creating the socket.
        ++ lib.optionals isUnixBind [
          "--umask"
          "0o007"
        ]
        ++ cfg.server.extraArgs;
        cluster = [ "cluster" ];
        # ExecStartPre= of server and worker: refuse to start before setup has migrated for
        # this configuration (they only Wants= setup; see services.nix).
        setup-check = [ "setup-check" ];
        # ExecStartPre= of setup: the common boot race (database not accepting connections
        # yet) costs a wait, not a failed setup.
        wait-for-db = [
          "wait-for-db"
          "--timeout"
          (toString databaseWaitSeconds)
        ];
      };
    };
  };
}
