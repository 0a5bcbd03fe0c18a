# Every option of `services.inventree`, documented where declared (docs/options.md is generated
# from here). The names users' configurations rely on (enable, siteUrl, bindIp, bindPort,
# serverBind, allowedHosts, serverStartTimeout, dataDir, config, users, packages) are a
# contract: extend, never rename.
{
  config,
  options,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.inventree;
  opt = options.services.inventree;
  secretPath = import ./lib/secret-path.nix { inherit lib; };
  json = pkgs.formats.json { };

  mkSecretFileOption =
    description:
    lib.mkOption {
      type = lib.types.nullOr secretPath.type;
      default = null;
      example = "/run/secrets/inventree-db-password";
      description = description + ''


        Give an absolute path as a *string*: the file is read at run time by systemd
        (`LoadCredential=`) and never enters the Nix store. A Nix path literal is refused,
        because it would be copied into the world-readable store.
      '';
    };

  userModule =
    { name, config, ... }:
    {
      options = {
        email = lib.mkOption {
          type = lib.types.str;
          example = "admin@example.org";
          description = "E-mail address of user `${name}`.";
        };
        is_superuser = lib.mkOption {
          type = lib.types.bool;
          default = false;
          description = "Whether the user has every permission (Django superuser).";
        };
        is_staff = lib.mkOption {
          type = lib.types.bool;
          default = config.is_superuser;
          defaultText = lib.literalExpression "is_superuser";
          description = "Whether the user may use the admin interface and staff-only API views.";
        };
        is_active = lib.mkOption {
          type = lib.types.bool;
          default = true;
          description = "Whether the user can log in. Set to `false` to lock the account without deleting it.";
        };
        password_file = lib.mkOption {
          type = lib.types.nullOr secretPath.type;
          default = null;
          example = "/run/secrets/inventree-admin-password";
          description = ''
            File holding the user's password (one trailing newline is stripped). The password is
            set when it differs from the stored one, so rotating the file rotates the password at
            the next setup run. `null` leaves the password as it is (a new user then has no usable
            password until one is set with `inventree-manage changepassword`).

            Give an absolute path as a *string*; a Nix path literal is refused because it would
            copy the password into the world-readable Nix store.
          '';
        };
      };
    };
in
{
  options.services.inventree = {
    enable = lib.mkEnableOption "InvenTree, the inventory management system (web server and background worker)";

    packages = lib.mkOption {
      type = lib.types.lazyAttrsOf lib.types.raw;
      defaultText = lib.literalMD "the flake's package scope for the system (`inventree.packages.\${system}`), set by `nixosModules.default`";
      example = lib.literalExpression "inputs.inventree.packages.\${pkgs.system}";
      description = ''
        The InvenTree package scope: `src`, `python`, `server`, `cluster`, `invoke`, `manage`,
        `setup`, `refresh-users`, `gen-secret`, `setup-check`, `wait-for-db`, `restore`. The
        flake's `nixosModules.default` sets it; override it to use another InvenTree build (e.g.
        `packages.override { … }` or the overlay's `pkgs.inventree`).
      '';
    };

    siteUrl = lib.mkOption {
      type = lib.types.str;
      default =
        if cfg.nginx.enable then
          "http://${cfg.nginx.hostName}"
        else if lib.hasPrefix "unix:" cfg.serverBind then
          "http://localhost"
        else
          "http://${
            if cfg.bindIp == "0.0.0.0" || cfg.bindIp == "::" then "localhost" else cfg.bindIp
          }:${toString cfg.bindPort}";
      defaultText = lib.literalMD ''
        `http://''${nginx.hostName}` with nginx, else `http://''${bindIp}:''${bindPort}`
        (`localhost` for a wildcard address or a unix socket)
      '';
      example = "https://inventree.example.org";
      description = ''
        The URL users reach InvenTree at, with scheme (`https://…`). Critical for correct
        operation: InvenTree builds links, CSRF trusted origins and e-mails from it. Its host is
        always an allowed host. Set it explicitly for anything but a local test.
      '';
    };

    bindIp = lib.mkOption {
      type = lib.types.str;
      default = "127.0.0.1";
      example = "0.0.0.0";
      description = ''
        Address gunicorn binds. Localhost suits a reverse proxy; `0.0.0.0` listens on all
        interfaces. Ignored when {option}`services.inventree.serverBind` is set.
      '';
    };

    bindPort = lib.mkOption {
      type = lib.types.port;
      default = 8000;
      description = "Port gunicorn binds. Ignored when {option}`services.inventree.serverBind` is set.";
    };

    serverBind = lib.mkOption {
      type = lib.types.str;
      default =
        if lib.hasInfix ":" cfg.bindIp then
          "[${cfg.bindIp}]:${toString cfg.bindPort}"
        else
          "${cfg.bindIp}:${toString cfg.bindPort}";
      defaultText = lib.literalExpression ''"''${bindIp}:''${toString bindPort}"'';
      example = "unix:/run/inventree/inventree.sock";
      description = ''
        Full gunicorn bind string. `unix:/run/inventree/inventree.sock` serves on a unix socket
        (its directory under `/run` is created by systemd; the socket is reachable by the
        `inventree` group, which nginx joins when {option}`services.inventree.nginx.enable` is set).
      '';
    };

    allowedHosts = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [
        "inventree.example.org"
        "10.0.0.5"
      ];
      description = ''
        Host names InvenTree answers to (Django `ALLOWED_HOSTS`). Empty means all (`*`), which
        raises a warning. The host of {option}`services.inventree.siteUrl` is always added.
      '';
    };

    role = lib.mkOption {
      type = lib.types.enum [
        "all"
        "web"
        "worker"
      ];
      default = "all";
      example = "worker";
      description = ''
        What this machine runs when several share one database, cache and media store
        (docs/nixos.md, "Several machines"): `all`, the web server and the background worker;
        `web`, the web server only (`inventree-server`); `worker`, the background worker only
        (`inventree-cluster`). Every role runs the setup unit, which migrates under a lock in
        the database, so machines starting together never migrate at once. Several machines
        need a server database (PostgreSQL or MariaDB), a cache on Redis reachable by all, one
        `secretKeyFile` and one media store mounted at `media_root`.
      '';
    };

    serverStartTimeout = lib.mkOption {
      type = lib.types.str;
      default = "10min";
      example = "30min";
      description = ''
        How long systemd waits for the setup step, `inventree-setup.service`
        (`TimeoutStartSec=`, a systemd time span): its wait for the database and the
        migrations, which can be long after an upgrade. The server itself counts as started
        once gunicorn runs (`Type=simple`), so the timeout is set on the setup unit only.
      '';
    };

    fonts = lib.mkOption {
      type = lib.types.listOf lib.types.package;
      default = [ pkgs.dejavu_fonts ];
      defaultText = lib.literalExpression "[ pkgs.dejavu_fonts ]";
      example = lib.literalExpression "[ pkgs.dejavu_fonts pkgs.noto-fonts pkgs.noto-fonts-cjk-sans ]";
      description = ''
        Fonts the label and report printer (WeasyPrint, through Pango and fontconfig) may use.
        A NixOS system service sees no fonts of its own, and a PDF rendered without one has no
        text; the units therefore get `FONTCONFIG_FILE` naming a fontconfig file that lists
        these packages, and includes the system's `/etc/fonts/conf.d` (aliases and, with
        `fonts.fontconfig.enable`, the system's `fonts.packages`). Add fonts for the scripts
        and symbols your templates print.
      '';
    };

    pluginWorkspace = lib.mkOption {
      type = lib.types.nullOr lib.types.path;
      default = null;
      example = lib.literalExpression "./inventree-plugins";
      description = ''
        A uv workspace of InvenTree plugins: a directory holding a `pyproject.toml` whose
        `dependencies` name the plugin packages (e.g. `"inventree-kicad-plugin>=2.0.4"`) and the
        `uv.lock` that `uv lock` writes beside it. Its packages join InvenTree's Python
        environment through uv2nix (where both pin a package, InvenTree's version is used), and
        InvenTree's plugin system is enabled (`config.plugins_enabled`), with installing at run
        time disabled (`config.plugin_noinstall`): the environment is in the read-only store.
        Plugins load only when active: list them in {option}`services.inventree.activePlugins`.
      '';
    };

    pluginOverrides = lib.mkOption {
      type = lib.types.nullOr lib.types.path;
      default = null;
      example = lib.literalExpression "./inventree-plugins/overrides.nix";
      description = ''
        A Nix file with build fixes for the plugins' packages: an overlay of the pyproject-nix
        package set, `final: prev: { somepkg = prev.somepkg.overrideAttrs (…); }`, applied after
        InvenTree's own fixes (e.g. a build system an sdist forgets to declare).
      '';
    };

    activePlugins = lib.mkOption {
      type = lib.types.listOf (lib.types.strMatching "[a-z0-9_-]+");
      default = [ ];
      example = [ "kicad-library-plugin" ];
      description = ''
        Plugins (by slug, as `/api/plugins/` lists them) active whatever the web UI says:
        InvenTree's `config.plugins_mandatory`. Setup activates them and applies their own
        database migrations together with InvenTree's, and fails naming any that does not load
        (with InvenTree's error for it). Plugins also get the integrations they use, through InvenTree's
        `config.global_settings` (`ENABLE_PLUGINS_APP`, `…_URL`, `…_NAVIGATION`, `…_EVENTS`,
        `…_SCHEDULE`, `…_INTERFACE`, `…_MAILS`, each overridable there).
      '';
    };

    pluginSettings = lib.mkOption {
      type = lib.types.attrsOf (
        lib.types.attrsOf (
          lib.types.oneOf [
            lib.types.bool
            lib.types.int
            lib.types.float
            lib.types.str
          ]
        )
      );
      default = { };
      example = {
        kicad-library-plugin = {
          KICAD_ENABLE_STOCK_COUNT = true;
        };
      };
      description = ''
        Values on the settings pages of active plugins, by plugin slug and setting key (the keys
        the plugin defines; a key it does not have stops setup, listing the ones it has). Applied
        by setup together with the declared users: when this declaration changes and after every
        migration. A value changed in the web UI in between stays until then. The values end up
        in the world-readable Nix store: put no secret here.
      '';
    };

    dataDir = lib.mkOption {
      type = lib.types.str;
      default = "/var/lib/inventree";
      example = "/srv/inventree";
      description = ''
        Base directory for all InvenTree data: config.yaml, secret key, SQLite database, static,
        media, backups and plugins. Under `/var/lib` it is a systemd `StateDirectory=`; elsewhere
        it is created by systemd-tmpfiles and made writable for the units.
      '';
    };

    config = lib.mkOption {
      type = lib.types.submodule { freeformType = json.type; };
      default = { };
      example = lib.literalExpression ''
        {
          email = {
            host = "smtp.example.org";
            port = 587;
            tls = true;
            username = "inventree";
            sender = "inventree@example.org";
          };
          timezone = "Europe/Berlin";
          global_settings.INVENTREE_DEFAULT_CURRENCY = "EUR";
        }
      '';
      description = ''
        Anything InvenTree's `config.yaml` accepts
        (<https://docs.inventree.org/en/stable/start/config/>). The module fills database, paths,
        background worker, cache, site URL and allowed hosts with `lib.mkDefault`, so any of them
        can be overridden here. The rendered file lives in the world-readable Nix store: never put
        a secret here. Secrets come from environment variables loaded from systemd credentials
        (the `*File` options; e.g. `INVENTREE_EMAIL_PASSWORD` through
        {option}`services.inventree.extraCredentials`).
      '';
    };

    extraCredentials = lib.mkOption {
      type = lib.types.attrsOf secretPath.type;
      default = { };
      example = {
        INVENTREE_EMAIL_PASSWORD = "/run/secrets/inventree-smtp-password";
      };
      description = ''
        Further secrets as systemd credentials: name → absolute path string of the file. Every
        credential whose name starts with `INVENTREE_` is exported to InvenTree as the environment
        variable of that name (trailing newline stripped), which InvenTree reads instead of the
        corresponding `config.yaml` key.
      '';
    };

    users = lib.mkOption {
      type = lib.types.attrsOf (lib.types.submodule userModule);
      default = { };
      example = lib.literalExpression ''
        {
          admin = {
            email = "admin@example.org";
            is_superuser = true;
            password_file = "/run/secrets/inventree-admin-password";
          };
        }
      '';
      description = ''
        Declared users, created or updated by the setup step before the server starts (e-mail,
        flags, password from `password_file`). Users nobody declared are left alone unless
        {option}`services.inventree.undeclaredUsers` says otherwise. Nothing prints a password.
      '';
    };

    undeclaredUsers = lib.mkOption {
      type = lib.types.enum [
        "keep"
        "deactivate"
        "delete"
      ];
      default = "keep";
      description = ''
        What the setup step does with users that exist in the database but are not declared in
        {option}`services.inventree.users`: `keep` them untouched, `deactivate` them (they can no
        longer log in), or `delete` them.
      '';
    };

    secretKeyFile = mkSecretFileOption ''
      File holding Django's secret key. `null` generates one on first start in
      `''${dataDir}/secret_key.txt` (mode 0600), kept across restarts.
    '';

    user = lib.mkOption {
      type = lib.types.str;
      default = "inventree";
      description = "System user the InvenTree units run as. The module creates the default `inventree` user; create any other one yourself.";
    };

    group = lib.mkOption {
      type = lib.types.str;
      default = "inventree";
      description = "Group of {option}`services.inventree.user`. The module creates the default `inventree` group; create any other one yourself.";
    };

    database = {
      type = lib.mkOption {
        type = lib.types.enum [
          "sqlite"
          "postgresql"
          "mysql"
        ];
        default = "sqlite";
        description = ''
          Database engine. `sqlite` keeps a file under {option}`services.inventree.dataDir`;
          `postgresql` and `mysql` (MariaDB by default) are created on this host over a unix
          socket when {option}`services.inventree.database.createLocally` is set, or reached
          remotely.
        '';
      };

      createLocally = lib.mkOption {
        type = lib.types.bool;
        default = true;
        description = ''
          For `postgresql` and `mysql`: run the database server on this host and create the
          database and its user there, authenticated by the unix socket peer (no password). The
          database user must then be {option}`services.inventree.user`. Ignored for `sqlite`.
        '';
      };

      host = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "db.example.org";
        description = "Host of a remote database server (requires `createLocally = false`).";
      };

      port = lib.mkOption {
        type = lib.types.nullOr lib.types.port;
        default = null;
        example = 5432;
        description = "Port of a remote database server; `null` uses the engine's default.";
      };

      name = lib.mkOption {
        type = lib.types.str;
        default =
          if cfg.database.type == "sqlite" then "${cfg.dataDir}/database/inventree.sqlite3" else "inventree";
        defaultText = lib.literalMD ''
          `"''${dataDir}/database/inventree.sqlite3"` for SQLite, else `"inventree"`
        '';
        description = "Database name; for SQLite the absolute path of the database file.";
      };

      user = lib.mkOption {
        type = lib.types.str;
        default = cfg.user;
        defaultText = lib.literalExpression "config.services.inventree.user";
        description = "Database user (PostgreSQL and MySQL).";
      };

      passwordFile = mkSecretFileOption ''
        File holding the password of the database user, for a remote database. Passed to
        InvenTree as `INVENTREE_DB_PASSWORD` through a systemd credential.
      '';

      socket = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default =
          if !cfg.database.createLocally || cfg.database.host != null then
            null
          else if cfg.database.type == "postgresql" then
            "/run/postgresql"
          else if cfg.database.type == "mysql" then
            "/run/mysqld/mysqld.sock"
          else
            null;
        defaultText = lib.literalMD ''
          with `createLocally`: `"/run/postgresql"` (PostgreSQL) or `"/run/mysqld/mysqld.sock"`
          (MySQL), else `null`
        '';
        description = ''
          Unix socket to reach the database server: the socket directory for PostgreSQL, the
          socket file for MySQL. Takes precedence over {option}`services.inventree.database.host`.
        '';
      };
    };

    cache = {
      enable = lib.mkEnableOption ''
        a shared Redis cache, which lets several background workers run and lets the web server
        see the worker's state'';

      createLocally = lib.mkOption {
        type = lib.types.bool;
        default = true;
        description = ''
          Run a dedicated Redis server (`services.redis.servers.inventree`) on this host, on
          loopback TCP at {option}`services.inventree.cache.port`, protected by a password that is
          generated on first start unless {option}`services.inventree.cache.passwordFile` is set.
          (InvenTree builds `redis://host:port` URLs, so a unix socket cannot be used without
          patching it; the password keeps other local users from reading the cache or injecting
          background tasks.)
        '';
      };

      host = lib.mkOption {
        type = lib.types.str;
        default = "127.0.0.1";
        example = "redis.example.org";
        description = "Redis host (loopback for a local server).";
      };

      port = lib.mkOption {
        type = lib.types.port;
        default = 6379;
        description = "Redis port (also the port of the local server).";
      };

      passwordFile = mkSecretFileOption ''
        File holding the Redis password (letters and digits only: InvenTree puts it into a
        `redis://` URL unescaped). For a local server, `null` generates one.
      '';
    };

    server = {
      workers = lib.mkOption {
        type = lib.types.nullOr lib.types.ints.positive;
        default = null;
        example = 4;
        description = "Number of gunicorn worker processes; `null` uses InvenTree's default (2 × CPUs + 1).";
      };

      timeout = lib.mkOption {
        type = lib.types.ints.positive;
        default = 90;
        description = "Seconds a gunicorn worker may spend on one request before it is restarted.";
      };

      extraArgs = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [
          "--max-requests=1200"
          "--log-level=info"
        ];
        description = "Extra arguments for gunicorn.";
      };
    };

    background = {
      workers = lib.mkOption {
        type = lib.types.ints.positive;
        default = 1;
        description = ''
          Number of background worker processes (Django-Q2). InvenTree runs one worker unless
          the shared cache is enabled and the database is not SQLite.
        '';
      };

      timeout = lib.mkOption {
        type = lib.types.ints.positive;
        default = 90;
        description = "Seconds a background task may run before it is killed (and retried).";
      };
    };

    nginx = {
      enable = lib.mkEnableOption ''
        an nginx virtual host in front of InvenTree: proxies the application, serves static files
        and serves media files only to logged-in users (checked against InvenTree's `/auth/`)'';

      hostName = lib.mkOption {
        type = lib.types.str;
        # Only a siteUrl the admin set is looked at: siteUrl's own default is derived from
        # hostName when nginx is enabled.
        default =
          let
            m = builtins.match "[a-zA-Z][a-zA-Z0-9+.-]*://([^/:]+|\\[[^]]*]).*" cfg.siteUrl;
          in
          if opt.siteUrl.highestPrio < (lib.mkOptionDefault { }).priority && m != null then
            builtins.head m
          else
            config.networking.fqdnOrHostName;
        defaultText = lib.literalMD ''
          the host of {option}`services.inventree.siteUrl` when set, else
          {option}`networking.fqdnOrHostName`
        '';
        example = "inventree.example.org";
        description = ''
          Name of the nginx virtual host. TLS and the like are set on
          `services.nginx.virtualHosts.<hostName>` (e.g. `enableACME`, `forceSSL`).
        '';
      };
    };

    backup = {
      enable = lib.mkEnableOption "regular backups of the database and media files (`inventree-backup.timer`)";

      startAt = lib.mkOption {
        type = with lib.types; either str (listOf str);
        default = "daily";
        example = "*-*-* 03:15:00";
        description = "When to back up (systemd calendar event, see {manpage}`systemd.time(7)`).";
      };

      directory = lib.mkOption {
        type = lib.types.str;
        default = "${cfg.dataDir}/backup";
        defaultText = lib.literalExpression ''"''${dataDir}/backup"'';
        description = "Where backups are written (InvenTree's `backup_dir`).";
      };

      keep = lib.mkOption {
        type = lib.types.int;
        default = 14;
        description = "How many database and how many media backups to keep; older ones are deleted.";
      };
    };

    openFirewall = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = ''
        Open the firewall for InvenTree: ports 80 and 443 with nginx, else
        {option}`services.inventree.bindPort`.
      '';
    };
  };
}
