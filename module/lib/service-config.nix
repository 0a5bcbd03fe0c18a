# The ONE hardened serviceConfig every InvenTree unit starts from (units state only their
# differences with lib.recursiveUpdate), and the systemd directory settings derived from the
# configured paths. Template: nixpkgs' paperless and pretix modules.
{
  config,
  lib,
  pkgs,
  utils,
}:
let
  cfg = config.services.inventree;
  settings = cfg.internal.settings;
  cacheDir = "/var/cache/inventree";

  # systemd manages directories under these roots itself (StateDirectory=, CacheDirectory=), as
  # docs/nixos.md describes the data directory.
  managedRoots = {
    "/var/lib" = "StateDirectory";
    "/var/cache" = "CacheDirectory";
    "/var/log" = "LogsDirectory";
    "/etc" = "ConfigurationDirectory";
    "/run" = "RuntimeDirectory";
  };

  # Writable paths InvenTree uses; a path below another one of the list is covered by it.
  writablePaths =
    let
      all = lib.unique (
        [
          cfg.dataDir
          cfg.backup.directory
          # Python and fontconfig (WeasyPrint) caches, through XDG_CACHE_HOME.
          cacheDir
        ]
        ++ lib.filter builtins.isString [
          (settings.static_root or null)
          (settings.media_root or null)
          (settings.backup_dir or null)
          (settings.plugin_dir or null)
        ]
      );
      coveredBy = p: q: p != q && lib.hasPrefix "${q}/" p;
    in
    lib.filter (p: !(lib.any (coveredBy p) all)) all;

  rootOf = p: lib.findFirst (root: lib.hasPrefix "${root}/" p) null (lib.attrNames managedRoots);

  managed = lib.filter (p: rootOf p != null) writablePaths;
  unmanaged = lib.filter (p: rootOf p == null) writablePaths;

  directories = lib.foldl' (
    acc: p:
    let
      root = rootOf p;
      key = managedRoots.${root};
    in
    acc // { ${key} = (acc.${key} or [ ]) ++ [ (lib.removePrefix "${root}/" p) ]; }
  ) { } managed;

  # Wrapper package of a runtime subcommand: "server" -> packages.server/bin/inventree-server.
  wrapperOf = sub: lib.getExe' cfg.internal.packages.${sub} "inventree-${sub}";
in
{
  inherit unmanaged cacheDir wrapperOf;

  # The InvenTree units this node has (`role`): setup always, the server and the worker as the
  # role says. Modules adding dependencies to "every InvenTree unit" go through this list, so a
  # web node gets no stray worker unit (and a worker node no server unit).
  inventreeServices =
    [ "inventree-setup" ]
    ++ lib.optional (cfg.role != "worker") "inventree-server"
    ++ lib.optional (cfg.role != "web") "inventree-cluster";

  # On PATH of every unit and admin command: `python3` (InvenTree's invoke tasks run
  # `python3 manage.py …` through a shell) and the database client that django-dbbackup runs for
  # backups and restores (pg_dump/psql, mysqldump/mysql).
  path = [
    cfg.internal.packages.python
  ]
  ++ lib.optional (cfg.database.type == "postgresql") (
    if config.services.postgresql.enable then config.services.postgresql.package else pkgs.postgresql
  )
  ++ lib.optional (cfg.database.type == "mysql") (
    if config.services.mysql.enable then config.services.mysql.package else pkgs.mariadb
  );

  # ExecStart= of a runtime argv from internal.commands.
  exec = argv: utils.escapeSystemdExecArgs ([ (wrapperOf (lib.head argv)) ] ++ lib.tail argv);

  # LoadCredential= entries; `keep` selects credential names (user passwords go to setup only).
  loadCredentials =
    keep:
    lib.mapAttrsToList (name: path: "${name}:${path}") (
      lib.filterAttrs (name: _: keep name) cfg.internal.credentials
    );

  isServiceCredential = name: lib.hasPrefix "INVENTREE_" name;

  # Environment of every unit: the shared one plus the unit-only cache location.
  environment = cfg.internal.environment // {
    XDG_CACHE_HOME = cacheDir;
  };

  # tmpfiles rules for paths systemd does not manage (e.g. /srv/inventree).
  # (The backup directory gets its private 0700 rule from setup.nix.)
  tmpfilesRules = map (p: "d '${p}' 0750 ${cfg.user} ${cfg.group} - -") (
    lib.filter (p: p != (settings.backup_dir or null)) unmanaged
  );

  base = {
    User = cfg.user;
    Group = cfg.group;
    WorkingDirectory = cfg.dataDir;
    # Group members (nginx, when enabled) may read media and static files, nothing else:
    # the secret key and the SQLite directory are private (see setup.nix).
    UMask = "0027";
    ReadWritePaths = unmanaged;

    CapabilityBoundingSet = [ "" ];
    AmbientCapabilities = [ "" ];
    NoNewPrivileges = true;
    DevicePolicy = "closed";
    PrivateDevices = true;
    PrivateTmp = true;
    PrivateUsers = true;
    PrivateMounts = true;
    ProtectSystem = "strict";
    ProtectHome = true;
    ProtectClock = true;
    # ProtectClock would otherwise allow reading the RTC device.
    DeviceAllow = [ "" ];
    ProtectHostname = true;
    ProtectKernelLogs = true;
    ProtectKernelModules = true;
    ProtectKernelTunables = true;
    ProtectControlGroups = true;
    ProtectProc = "invisible";
    ProcSubset = "pid";
    RestrictAddressFamilies = [
      "AF_UNIX"
      "AF_INET"
      "AF_INET6"
    ];
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    LockPersonality = true;
    MemoryDenyWriteExecute = true;
    RemoveIPC = true;
    SystemCallArchitectures = "native";
    # As paperless: @resources stays allowed (glibc's getrlimit/prlimit, mbind in numeric
    # libraries); denied calls fail with EPERM instead of killing the process.
    SystemCallFilter = [
      "@system-service"
      "~@privileged @setuid @keyring"
    ];
    SystemCallErrorNumber = "EPERM";
  }
  // directories
  // lib.optionalAttrs (directories ? StateDirectory) { StateDirectoryMode = "0750"; }
  # Shared by several units: keep it when one of them stops.
  // lib.optionalAttrs (directories ? RuntimeDirectory) { RuntimeDirectoryPreserve = true; };
}
