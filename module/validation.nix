# Evaluation-time checks. Each message names the option and says what to do; the messages are
# stable (the harness has one invalid fixture per message), so change them only together with
# fixtures/invalid/*.expected.
{ config, lib, ... }:
let
  cfg = config.services.inventree;
  db = cfg.database;
  settings = cfg.internal.settings;
  secretPath = import ./lib/secret-path.nix { inherit lib; };
  opt = "services.inventree";

  isUnixBind = lib.hasPrefix "unix:" cfg.serverBind;
  isAbsolute = lib.hasPrefix "/";
  isLoopback = host: lib.elem host [
    "127.0.0.1"
    "::1"
    "localhost"
  ];

  # Every secret-file option with its full name.
  secretOptions =
    [
      {
        name = "${opt}.secretKeyFile";
        value = cfg.secretKeyFile;
      }
      {
        name = "${opt}.database.passwordFile";
        value = db.passwordFile;
      }
      {
        name = "${opt}.cache.passwordFile";
        value = cfg.cache.passwordFile;
      }
    ]
    ++ lib.mapAttrsToList (n: u: {
      name = "${opt}.users.${n}.password_file";
      value = u.password_file;
    }) cfg.users
    ++ lib.mapAttrsToList (n: v: {
      name = "${opt}.extraCredentials.${n}";
      value = v;
    }) cfg.extraCredentials;

  secretAssertions = map (s: {
    assertion = s.value == null || secretPath.problem s.name s.value == null;
    message = if s.value == null then "" else secretPath.problem s.name s.value;
  }) secretOptions;

  # config keys InvenTree would read a secret from; the rendered file is world-readable.
  secretConfigKeys = [
    {
      path = [ "secret_key" ];
      instead = "${opt}.secretKeyFile";
    }
    {
      path = [
        "database"
        "PASSWORD"
      ];
      instead = "${opt}.database.passwordFile";
    }
    {
      path = [
        "database"
        "password"
      ];
      instead = "${opt}.database.passwordFile";
    }
    {
      path = [
        "cache"
        "password"
      ];
      instead = "${opt}.cache.passwordFile";
    }
    {
      path = [
        "email"
        "password"
      ];
      instead = "${opt}.extraCredentials.INVENTREE_EMAIL_PASSWORD";
    }
    {
      path = [ "admin_password" ];
      instead = "${opt}.users.<name>.password_file";
    }
    {
      path = [ "oidc_private_key" ];
      instead = "${opt}.extraCredentials.INVENTREE_OIDC_PRIVATE_KEY";
    }
  ];

  secretConfigAssertions = map (k: {
    # An empty value (InvenTree's template has `password: ''`) holds no secret.
    assertion = lib.elem (lib.attrByPath k.path "" cfg.config) [
      ""
      null
    ];
    message =
      "${opt}.config.${lib.concatStringsSep "." k.path} would write a secret into config.yaml, which is "
      + "world-readable in the Nix store: remove it and use ${k.instead} instead.";
  }) secretConfigKeys;

  siteUrlMatch = builtins.match "([a-zA-Z][a-zA-Z0-9+.-]*)://([^/?#]+)(.*)" cfg.siteUrl;
  siteScheme = if siteUrlMatch == null then null else lib.toLower (builtins.head siteUrlMatch);
  sitePath = if siteUrlMatch == null then "" else lib.elemAt siteUrlMatch 2;
  # "host:8443" -> "host"; "[::1]:8000" -> "[::1]".
  siteHost =
    if siteUrlMatch == null then
      null
    else
      lib.head (builtins.match "(\\[[^]]*]|[^:]*).*" (lib.elemAt siteUrlMatch 1));

  usernameOk = n: builtins.match "[A-Za-z0-9_.@+-]+" n != null;
  emailOk = e: builtins.match "[^@[:space:]]+@[^@[:space:]]+" e != null;

  timeSpanOk =
    t: t == "infinity" || builtins.match "([0-9]+(\\.[0-9]+)? *([a-z]+)? *)+" t != null;

  cacheLocal = cfg.cache.enable && cfg.cache.createLocally;
  # Other Redis servers of this host on the local cache's port (`services.redis.servers.""`
  # listens on 6379, the default of cache.port).
  redisOnCachePort = lib.attrNames (
    lib.filterAttrs (
      name: server: name != "inventree" && server.enable && server.port == cfg.cache.port
    ) config.services.redis.servers
  );

  # Setup empties static_root before it deploys static files (--clear, or a fresh copy): it
  # must not be, nor contain, a directory that holds data.
  staticRoot = settings.static_root or null;
  dataPaths = lib.filter builtins.isString [
    cfg.dataDir
    (settings.media_root or null)
    (settings.backup_dir or null)
    (settings.plugin_dir or null)
    (if db.type == "sqlite" then builtins.dirOf db.name else null)
  ];
  staticHolds = p: p == staticRoot || lib.hasPrefix "${lib.removeSuffix "/" staticRoot}/" p;
  dataInStatic = lib.optionals (builtins.isString staticRoot) (lib.filter staticHolds dataPaths);
  dbServer = db.type != "sqlite";
  dbRemote = dbServer && !db.createLocally;

  # A failed check → the message; checks with `warn = true` are warnings.
  checks = [
    # --- site URL and hosts
    {
      failed = siteUrlMatch == null;
      message = "${opt}.siteUrl = \"${cfg.siteUrl}\" has no scheme: give the full URL users open, e.g. \"https://inventree.example.org\".";
    }
    {
      failed = siteScheme != null && !(lib.elem siteScheme [
        "http"
        "https"
      ]);
      message = "${opt}.siteUrl = \"${cfg.siteUrl}\" must use http:// or https://.";
    }
    {
      failed = lib.hasInfix " " cfg.siteUrl;
      message = "${opt}.siteUrl = \"${cfg.siteUrl}\" contains a space: give a plain URL such as \"https://inventree.example.org\".";
    }
    {
      failed = siteUrlMatch != null && sitePath != "" && sitePath != "/";
      message = "${opt}.siteUrl = \"${cfg.siteUrl}\" has a path: InvenTree must be served at the root of its host; drop \"${sitePath}\" (use a separate host name instead).";
    }
    {
      warn = true;
      failed = lib.elem "*" (settings.allowed_hosts or [ "*" ]);
      message = "${opt}.allowedHosts resolves to \"*\": InvenTree answers to any Host header. List the host names users use (the host of siteUrl is added automatically), e.g. allowedHosts = [ \"inventree.example.org\" ].";
    }

    # --- bind, timeouts, paths
    {
      failed = isUnixBind && !(isAbsolute (lib.removePrefix "unix:" cfg.serverBind));
      message = "${opt}.serverBind = \"${cfg.serverBind}\": a unix socket needs an absolute path, e.g. \"unix:/run/inventree/inventree.sock\".";
    }
    {
      warn = true;
      failed = isUnixBind && !cfg.nginx.enable && cfg.openFirewall;
      message = "${opt}.openFirewall has no effect: ${opt}.serverBind is a unix socket and ${opt}.nginx.enable is false, so nothing listens on a TCP port. Enable nginx or put a reverse proxy in front of the socket.";
    }
    {
      warn = true;
      failed = !isUnixBind && !cfg.nginx.enable && cfg.openFirewall && isLoopback cfg.bindIp;
      message = "${opt}.openFirewall opens port ${toString cfg.bindPort}, but ${opt}.bindIp = \"${cfg.bindIp}\" listens on loopback only: set bindIp = \"0.0.0.0\" or enable ${opt}.nginx.";
    }
    {
      failed = !(timeSpanOk cfg.serverStartTimeout);
      message = "${opt}.serverStartTimeout = \"${cfg.serverStartTimeout}\" is not a systemd time span: write e.g. \"10min\", \"1h 30min\" or \"infinity\".";
    }
    {
      failed = !(isAbsolute cfg.dataDir) || lib.hasSuffix "/" cfg.dataDir;
      message = "${opt}.dataDir = \"${cfg.dataDir}\" must be an absolute path without trailing slash, e.g. \"/var/lib/inventree\".";
    }
    {
      failed = lib.hasPrefix builtins.storeDir cfg.dataDir;
      message = "${opt}.dataDir = \"${cfg.dataDir}\" is in the read-only Nix store: use a writable directory such as \"/var/lib/inventree\".";
    }
    {
      failed = lib.any (k: builtins.isString (settings.${k} or null) && !(isAbsolute settings.${k})) [
        "static_root"
        "media_root"
        "backup_dir"
      ];
      message = "${opt}.config.static_root, media_root and backup_dir must be absolute paths (they default to directories under ${opt}.dataDir).";
    }
    {
      failed = dataInStatic != [ ];
      message = "${opt}.config.static_root = \"${toString staticRoot}\" is or contains ${lib.concatStringsSep ", " dataInStatic}: setup empties static_root whenever it deploys static files. Give static files a directory of their own, e.g. \"${cfg.dataDir}/static\".";
    }

    # --- database
    {
      failed = dbServer && db.createLocally && db.host != null;
      message = "${opt}.database.host = \"${toString db.host}\" is set, but ${opt}.database.createLocally = true creates the database on this host (over a unix socket): set createLocally = false for a remote server, or remove host.";
    }
    {
      failed = dbServer && db.createLocally && db.user != cfg.user;
      message = "${opt}.database.user = \"${db.user}\" differs from ${opt}.user = \"${cfg.user}\": a locally created database authenticates the system user over the unix socket, so the database user must be \"${cfg.user}\" (or set createLocally = false).";
    }
    {
      failed = db.type == "postgresql" && db.createLocally && db.name != db.user;
      message = "${opt}.database.name = \"${db.name}\" must equal ${opt}.database.user = \"${db.user}\" when PostgreSQL is created locally (the user owns the database of its name, services.postgresql.ensureUsers.*.ensureDBOwnership).";
    }
    {
      failed = dbServer && db.createLocally && db.passwordFile != null;
      message = "${opt}.database.passwordFile is set, but a locally created database uses unix-socket authentication without password: remove passwordFile, or set createLocally = false for a remote server.";
    }
    {
      failed = dbRemote && db.host == null && db.socket == null;
      message = "${opt}.database.host is not set: with createLocally = false, give the remote ${db.type} server's host (or ${opt}.database.socket for a unix socket).";
    }
    {
      warn = true;
      failed = dbRemote && db.socket == null && db.passwordFile == null;
      message = "${opt}.database.passwordFile is not set for the remote ${db.type} server ${toString db.host}: InvenTree will connect without password. Set passwordFile = \"/run/secrets/...\" unless the server trusts this host.";
    }
    {
      failed = db.type == "sqlite" && !(isAbsolute db.name);
      message = "${opt}.database.name = \"${db.name}\" must be the absolute path of the SQLite file, e.g. \"/var/lib/inventree/database/inventree.sqlite3\".";
    }
    {
      warn = true;
      failed =
        db.type == "sqlite"
        && (db.host != null || db.port != null || db.passwordFile != null || db.socket != null);
      message = "${opt}.database.host, port, socket and passwordFile have no effect with database.type = \"sqlite\": remove them, or set database.type to \"postgresql\" or \"mysql\".";
    }
    {
      warn = true;
      failed = db.socket != null && db.port != null;
      message = "${opt}.database.port has no effect: ${opt}.database.socket is used to reach the server.";
    }

    # --- cache and workers
    {
      failed = cacheLocal && !(isLoopback cfg.cache.host);
      message = "${opt}.cache.host = \"${cfg.cache.host}\" is not loopback, but ${opt}.cache.createLocally = true runs Redis on this host: set createLocally = false for a remote Redis, or host = \"127.0.0.1\".";
    }
    {
      failed = cacheLocal && !isUnixBind && cfg.cache.port == cfg.bindPort;
      message = "${opt}.cache.port = ${toString cfg.cache.port} is also ${opt}.bindPort: give the local Redis server and gunicorn different ports.";
    }
    {
      failed = cacheLocal && redisOnCachePort != [ ];
      message = "${opt}.cache.port = ${toString cfg.cache.port} is also the port of ${
        lib.concatMapStringsSep ", " (n: "services.redis.servers.\"${n}\"") redisOnCachePort
      }: give InvenTree's local Redis server another port, e.g. ${opt}.cache.port = 6380.";
    }
    {
      warn = true;
      failed = !cfg.cache.enable && cfg.cache.passwordFile != null;
      message = "${opt}.cache.passwordFile has no effect while ${opt}.cache.enable = false.";
    }
    {
      warn = true;
      failed = cfg.background.workers > 1 && !cfg.cache.enable;
      message = "${opt}.background.workers = ${toString cfg.background.workers} has no effect without a shared cache: InvenTree runs one worker. Set ${opt}.cache.enable = true.";
    }
    {
      warn = true;
      failed = cfg.background.workers > 1 && db.type == "sqlite";
      message = "${opt}.background.workers = ${toString cfg.background.workers} has no effect with SQLite: InvenTree runs one worker to avoid database locking. Use PostgreSQL or MySQL for more workers.";
    }

    # --- users
    {
      failed = lib.any (n: !(usernameOk n)) (lib.attrNames cfg.users);
      message = "${opt}.users: user names may contain only letters, digits and . @ + - _ (Django's rule); rename ${
        lib.concatMapStringsSep ", " (n: "\"${n}\"") (lib.filter (n: !(usernameOk n)) (lib.attrNames cfg.users))
      }.";
    }
    {
      failed = lib.any (u: !(emailOk u.email)) (lib.attrValues cfg.users);
      message = "${opt}.users.<name>.email must be an e-mail address (name@domain); check ${
        lib.concatStringsSep ", " (lib.attrNames (lib.filterAttrs (_: u: !(emailOk u.email)) cfg.users))
      }.";
    }
    {
      failed = cfg.undeclaredUsers != "keep" && cfg.users == { };
      message = "${opt}.undeclaredUsers = \"${cfg.undeclaredUsers}\" with no ${opt}.users declared would ${cfg.undeclaredUsers} every user, admins included: declare the users to keep, or use \"keep\".";
    }
    {
      failed = cfg.undeclaredUsers != "keep" && !(lib.any (u: u.is_superuser && u.is_active) (lib.attrValues cfg.users));
      message = "${opt}.undeclaredUsers = \"${cfg.undeclaredUsers}\" requires at least one declared active superuser in ${opt}.users, or nobody could administer InvenTree afterwards.";
    }
    {
      warn = true;
      failed = lib.any (u: u.is_superuser && u.password_file == null) (lib.attrValues cfg.users);
      message = "${opt}.users: superuser(s) ${
        lib.concatStringsSep ", " (lib.attrNames (lib.filterAttrs (_: u: u.is_superuser && u.password_file == null) cfg.users))
      } have no password_file: they cannot log in until a password is set with `inventree-manage changepassword`.";
    }

    # --- service user, proxy, backup
    {
      failed = cfg.user == "root" || cfg.group == "root";
      message = "${opt}.user and ${opt}.group must not be root: InvenTree runs as an unprivileged system user (default \"inventree\").";
    }
    {
      warn = true;
      failed =
        cfg.nginx.enable
        && siteUrlMatch != null
        && siteHost != cfg.nginx.hostName;
      message = "${opt}.nginx.hostName = \"${cfg.nginx.hostName}\" is not the host of ${opt}.siteUrl = \"${cfg.siteUrl}\": users will reach InvenTree at a URL it does not generate links for. Make them agree.";
    }
    {
      warn = true;
      failed =
        cfg.nginx.enable
        && siteScheme == "https"
        && !(
          let
            vhost = config.services.nginx.virtualHosts.${cfg.nginx.hostName};
          in
          vhost.forceSSL || vhost.addSSL || vhost.onlySSL || vhost.enableACME || vhost.useACMEHost != null
        );
      message = "${opt}.siteUrl = \"${cfg.siteUrl}\" is https, but the nginx virtual host ${cfg.nginx.hostName} has no TLS: set services.nginx.virtualHosts.\"${cfg.nginx.hostName}\" = { enableACME = true; forceSSL = true; } (or a certificate), or terminate TLS in front of this host.";
    }
    {
      failed = lib.any (a: lib.elem a [ "-b" "--bind" ] || lib.hasPrefix "--bind=" a) cfg.server.extraArgs;
      message = "${opt}.server.extraArgs must not contain --bind: set ${opt}.serverBind (or bindIp/bindPort) instead.";
    }
    {
      failed = cfg.backup.enable && cfg.backup.keep < 1;
      message = "${opt}.backup.keep = ${toString cfg.backup.keep} must be at least 1: it is how many backups of each kind are kept.";
    }
    {
      failed = cfg.backup.enable && !(isAbsolute cfg.backup.directory);
      message = "${opt}.backup.directory = \"${cfg.backup.directory}\" must be an absolute path.";
    }
    {
      failed = cfg.backup.enable && (settings.backup_dir or cfg.backup.directory) != cfg.backup.directory;
      message = "${opt}.config.backup_dir differs from ${opt}.backup.directory: set only ${opt}.backup.directory, so backups and their retention use the same directory.";
    }
    # --- several machines (`role`)
    {
      failed = cfg.role != "all" && db.type == "sqlite";
      message = "${opt}.role = \"${cfg.role}\" shares one database between machines, but ${opt}.database.type is sqlite (a file one machine opens): use postgresql or mysql, with createLocally = false on all but the database's own machine.";
    }
    {
      failed = cfg.role == "worker" && cfg.nginx.enable;
      message = "${opt}.role = \"worker\" runs no web server, but ${opt}.nginx.enable is true: put the virtual host on a web node (role = \"web\" or \"all\").";
    }
    # --- plugins
    {
      failed =
        (cfg.pluginWorkspace != null || cfg.pluginOverrides != null) && !(cfg.packages ? overrideScope);
      message = "${opt}.pluginWorkspace/pluginOverrides need a package scope they can be added to, but ${opt}.packages has no overrideScope: use the flake's package scope (or pkgs.inventree from its overlay), or add the plugins to your own scope's Python environment and leave these options unset.";
    }
    {
      failed = cfg.pluginWorkspace != null && !(builtins.pathExists (cfg.pluginWorkspace + "/uv.lock"));
      message = "${opt}.pluginWorkspace = ${toString cfg.pluginWorkspace} has no uv.lock: run `uv lock` in that directory (next to its pyproject.toml) and add the file.";
    }
    {
      failed = cfg.activePlugins != [ ] && !(settings.plugins_enabled or false);
      message = "${opt}.activePlugins lists ${lib.concatStringsSep ", " cfg.activePlugins}, but ${opt}.config.plugins_enabled is false: remove that setting (declared plugins enable the plugin system) or the plugins.";
    }
    {
      failed = lib.any (slug: !(lib.elem slug cfg.activePlugins)) (lib.attrNames cfg.pluginSettings);
      message = "${opt}.pluginSettings configures ${
        lib.concatStringsSep ", " (
          lib.filter (slug: !(lib.elem slug cfg.activePlugins)) (lib.attrNames cfg.pluginSettings)
        )
      }, which ${opt}.activePlugins does not list: settings are applied to active plugins only; add the slug there.";
    }
    {
      failed = (settings.plugin_noinstall or true) != true;
      warn = true;
      message = "${opt}.config.plugin_noinstall is false: InvenTree would try to pip-install plugins at run time into its read-only Python environment in the Nix store, which fails. Declare plugins with ${opt}.pluginWorkspace instead.";
    }
  ];

in
{
  config = lib.mkIf cfg.enable {
    assertions =
      secretAssertions
      ++ secretConfigAssertions
      ++ map (c: {
        assertion = !c.failed;
        inherit (c) message;
      }) (lib.filter (c: !(c.warn or false)) checks);

    warnings = map (c: c.message) (lib.filter (c: (c.warn or false) && c.failed) checks);
  };
}
