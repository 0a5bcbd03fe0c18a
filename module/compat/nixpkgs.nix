# Configurations written for nixpkgs' own `services.inventree` module (which module/default.nix
# disables) keep their meaning here, or fail naming what to write instead:
# - `database.{dbtype,dbhost,dbport,dbname,dbuser}` are renamed (with a warning) to
#   `database.{type,host,port,name,user}`; `database.passwordFile`, `database.createLocally`,
#   `secretKeyFile`, `dataDir`, `user` and `group` have the same names and meaning in both;
# - `package`, `adminPasswordFile`, `domain` and `settings` are declared here and mapped below.
# A configuration that sets any option only nixpkgs' module has was written for it, so it gets
# that module's defaults where they differ from this one's: PostgreSQL (not SQLite), media and
# backups under `dataDir/data`, nginx in front, its user and group created. Without this, such a
# configuration would start a fresh, empty instance next to the old data.
{
  config,
  options,
  lib,
  ...
}:
let
  cfg = config.services.inventree;
  opt = options.services.inventree;
  prefix = "services.inventree";
  secretPath = import ../lib/secret-path.nix { inherit lib; };

  # Between the module's own defaults (mkDefault, 1000; the harness's package scope, 900) and a
  # value the user writes (100).
  nixpkgsDefault = lib.mkOverride 800;
  setByUser = o: o.highestPrio < (lib.mkOptionDefault { }).priority;

  renamedDatabaseOptions = {
    dbtype = "type";
    dbhost = "host";
    dbport = "port";
    dbname = "name";
    dbuser = "user";
  };

  # The options only nixpkgs' module has that this configuration sets.
  nixpkgsOnlyOptions =
    lib.optional (setByUser opt.package) "package"
    ++ lib.optional (cfg.adminPasswordFile != null) "adminPasswordFile"
    ++ lib.optional (cfg.domain != null) "domain"
    ++ lib.optional (cfg.settings != { }) "settings"
    ++ map (n: "database.${n}") (
      lib.filter (n: opt.database.${n}.isDefined) (lib.attrNames renamedDatabaseOptions)
    );
  nixpkgsStyle = nixpkgsOnlyOptions != [ ];
  usedNames = lib.concatMapStringsSep ", " (n: "${prefix}.${n}") nixpkgsOnlyOptions;

  domain = if cfg.domain != null then cfg.domain else "localhost";

  # --- `package`: this module runs InvenTree through its package scope.
  scopeMembers = [
    "src"
    "python"
    "setup"
    "server"
    "cluster"
    "invoke"
    "manage"
  ];
  isScope = p: builtins.isAttrs p && lib.all (m: p ? ${m}) scopeMembers;
  packageGiven = setByUser opt.package;

  # --- `settings`: nixpkgs' module puts them into the environment of every unit.
  settingsGiven = lib.filterAttrs (_: v: v != null) cfg.settings;
  asEnvironmentValue =
    v:
    if builtins.isBool v then
      lib.boolToString v
    else if builtins.isPath v then
      "${v}"
    else
      toString v;

  # Keys with an option of their own here, which takes the value with the same meaning (set in
  # `config` below, one definition per option: the shape of `services.inventree` must not depend
  # on `settings`, which lives inside it).
  mappedSettings = [
    "INVENTREE_SITE_URL"
    "INVENTREE_ALLOWED_HOSTS"
    "INVENTREE_MEDIA_ROOT"
    "INVENTREE_STATIC_ROOT"
    "INVENTREE_BACKUP_DIR"
    "INVENTREE_OIDC_PRIVATE_KEY_FILE"
    "INVENTREE_SECRET_KEY_FILE"
    "INVENTREE_ADMIN_USER"
    "INVENTREE_ADMIN_EMAIL"
    "INVENTREE_ADMIN_PASSWORD_FILE"
  ];
  isMapped = n: lib.elem n mappedSettings;
  fromSettings = n: lib.mkIf (settingsGiven ? ${n}) settingsGiven.${n};

  # Keys this module sets itself or takes through another option: what to write instead.
  refusedSettings = {
    INVENTREE_DB_ENGINE = "${prefix}.database.type";
    INVENTREE_DB_NAME = "${prefix}.database.name";
    INVENTREE_DB_HOST = "${prefix}.database.host";
    INVENTREE_DB_PORT = "${prefix}.database.port";
    INVENTREE_DB_USER = "${prefix}.database.user";
    INVENTREE_DB_PASSWORD = "${prefix}.database.passwordFile";
    INVENTREE_CACHE_PASSWORD = "${prefix}.cache.passwordFile";
    INVENTREE_SECRET_KEY = "${prefix}.secretKeyFile";
    INVENTREE_ADMIN_PASSWORD = "${prefix}.adminPasswordFile";
    INVENTREE_CONFIG_FILE = "${prefix}.config (the module installs config.yaml at ${cfg.dataDir}/config.yaml; move that file's settings into ${prefix}.config)";
    INVENTREE_PLUGIN_DIR = "${prefix}.config.plugin_dir";
    INVENTREE_PLUGIN_FILE = "${prefix}.config.plugin_file";
    INVENTREE_AUTO_UPDATE = "nothing (the inventree-setup unit migrates whenever the package or config changes)";
    INVENTREE_CONSOLE_LOG = "nothing (logs go to the journal)";
    INVENTREE_WRITE_LOG = "nothing (logs go to the journal)";
  }
  # The environment the module gives every unit (docs/ARCHITECTURE.md).
  // lib.genAttrs [
    "INVENTREE_SRC"
    "INVENTREE_DATA_DIR"
    "INVENTREE_CONFIG_SOURCE"
    "INVENTREE_USERS_FILE"
    "INVENTREE_STATIC_SOURCE"
  ] (_: "nothing (the module sets it)");

  # Any other key holding a secret would sit in the world-readable store.
  isSecretName =
    n: !(lib.hasSuffix "_FILE" n) && builtins.match ".*(PASSWORD|SECRET|TOKEN|_KEY)" n != null;

  refused = lib.filterAttrs (
    n: _: refusedSettings ? ${n} || (isSecretName n && !(isMapped n))
  ) settingsGiven;
  insteadOf =
    n:
    refusedSettings.${n}
      or "${prefix}.extraCredentials.${n} = \"/run/secrets/...\" (a file holding the value, exported as ${n})";
  passedThrough = lib.filterAttrs (n: _: !(isMapped n) && !(refused ? ${n})) settingsGiven;

  # --- `adminPasswordFile` (or the same through `settings`): InvenTree's start-up admin user.
  adminPasswordFile =
    if cfg.adminPasswordFile != null then
      cfg.adminPasswordFile
    else
      settingsGiven.INVENTREE_ADMIN_PASSWORD_FILE or null;
  adminPasswordProblem =
    if adminPasswordFile == null then
      null
    else
      secretPath.problem "${prefix}.adminPasswordFile" adminPasswordFile;
  adminName = settingsGiven.INVENTREE_ADMIN_USER or "admin";
in
{
  imports = lib.mapAttrsToList (
    from: to:
    lib.mkRenamedOptionModule
      [
        "services"
        "inventree"
        "database"
        from
      ]
      [
        "services"
        "inventree"
        "database"
        to
      ]
  ) renamedDatabaseOptions;

  options.services.inventree = {
    package = lib.mkOption {
      type = lib.types.raw;
      default = cfg.packages;
      defaultText = lib.literalExpression "config.services.inventree.packages";
      example = lib.literalExpression ''
        pkgs.inventree.overrideScope (final: _prev: { frontend = final.frontend-from-source; })
      '';
      description = ''
        The InvenTree package, as nixpkgs modules name it: here the package *scope*
        ({option}`services.inventree.packages`; setting this sets that), e.g. `pkgs.inventree`
        with this flake's overlay, or an `overrideScope` of it. nixpkgs' own single `inventree`
        package cannot run these units (they need the scope's `src`, `python`, `setup`, `server`,
        `cluster`, …) and is refused with an assertion.
      '';
    };

    adminPasswordFile = lib.mkOption {
      type = lib.types.nullOr secretPath.type;
      default = null;
      example = "/run/secrets/inventree-admin-password";
      description = ''
        nixpkgs' spelling: declares the superuser `admin` (e-mail `admin@''${domain}`) with this
        password file, i.e. `services.inventree.users.admin`. Unlike InvenTree's start-up
        admin of nixpkgs' module, the password is set again whenever the file changes. Give an
        absolute path as a string (a path literal would copy it into the store).
      '';
    };

    domain = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "inventree.example.org";
      description = ''
        nixpkgs' spelling: the host name of the nginx virtual host in front of InvenTree
        ({option}`services.inventree.nginx.hostName`, with nginx enabled); the site URL is then
        `http://''${domain}` unless {option}`services.inventree.siteUrl` says otherwise.
      '';
    };

    settings = lib.mkOption {
      type = lib.types.attrsOf (
        lib.types.nullOr (
          lib.types.oneOf [
            lib.types.str
            lib.types.path
            lib.types.bool
            lib.types.int
          ]
        )
      );
      default = { };
      example = {
        INVENTREE_EMAIL_HOST = "smtp.example.org";
        INVENTREE_EMAIL_PORT = 587;
      };
      description = ''
        nixpkgs' spelling: InvenTree settings as environment variables of every unit
        (`INVENTREE_*`, see <https://docs.inventree.org/en/stable/start/config/>). Prefer
        {option}`services.inventree.config`. Keys with an option here (`INVENTREE_SITE_URL`,
        `INVENTREE_MEDIA_ROOT`, `INVENTREE_ADMIN_USER`, …) set that option; keys the module sets
        itself (`INVENTREE_DB_*`, `INVENTREE_CONFIG_FILE`, …) and secrets (`*_PASSWORD`, …) are
        refused, naming what to write instead.
      '';
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = [
          {
            assertion = !packageGiven || isScope cfg.package;
            message = "${prefix}.package is a single package (nixpkgs' `inventree`?), but this module runs InvenTree through its package scope (${lib.concatStringsSep ", " scopeMembers}): remove ${prefix}.package to use this flake's build, or give a scope: `pkgs.inventree` with this flake's overlays.default, or an `overrideScope` of it.";
          }
          {
            assertion = !packageGiven || !(opt.packages.highestPrio < 800);
            message = "${prefix}.package and ${prefix}.packages are both set: they are the same setting, keep one of them.";
          }
          {
            assertion = adminPasswordProblem == null;
            message = toString adminPasswordProblem;
          }
        ]
        ++ lib.mapAttrsToList (n: _: {
          assertion = false;
          message = "${prefix}.settings.${n} (nixpkgs' module) is not used by this module: write ${insteadOf n} instead.";
        }) refused;
      }

      (lib.mkIf (packageGiven && isScope cfg.package) {
        services.inventree.packages = nixpkgsDefault cfg.package;
      })

      (lib.mkIf (adminPasswordFile != null) {
        services.inventree.users.${adminName} = {
          email = lib.mkDefault (settingsGiven.INVENTREE_ADMIN_EMAIL or "admin@${domain}");
          is_superuser = lib.mkDefault true;
          password_file = adminPasswordFile;
        };
      })

      {
        services.inventree = {
          siteUrl = fromSettings "INVENTREE_SITE_URL";
          allowedHosts = lib.mkIf (settingsGiven ? INVENTREE_ALLOWED_HOSTS) (
            lib.filter (h: h != "") (
              map lib.trim (lib.splitString "," settingsGiven.INVENTREE_ALLOWED_HOSTS)
            )
          );
          config.media_root = fromSettings "INVENTREE_MEDIA_ROOT";
          config.static_root = fromSettings "INVENTREE_STATIC_ROOT";
          config.oidc_private_key_file = fromSettings "INVENTREE_OIDC_PRIVATE_KEY_FILE";
          backup.directory = fromSettings "INVENTREE_BACKUP_DIR";
          secretKeyFile = fromSettings "INVENTREE_SECRET_KEY_FILE";
        };
      }

      {
        services.inventree.internal.environment = lib.mapAttrs (_: asEnvironmentValue) passedThrough;
      }

      (lib.mkIf nixpkgsStyle {
        services.inventree = {
          database.type = nixpkgsDefault "postgresql";
          nginx.enable = nixpkgsDefault true;
          nginx.hostName = lib.mkIf (cfg.domain != null) (nixpkgsDefault cfg.domain);
          config.media_root = nixpkgsDefault "${cfg.dataDir}/data/media";
          config.oidc_private_key_file = nixpkgsDefault "${cfg.dataDir}/config/oidc_private_key.txt";
          backup.directory = nixpkgsDefault "${cfg.dataDir}/data/backups";
        };

        # nixpkgs' module creates whatever user and group it is told to run as.
        users.users = lib.optionalAttrs (cfg.user != "inventree") {
          ${cfg.user} = {
            isSystemUser = lib.mkDefault true;
            group = lib.mkDefault cfg.group;
            home = lib.mkDefault cfg.dataDir;
          };
        };
        users.groups = lib.optionalAttrs (cfg.group != "inventree") { ${cfg.group} = { }; };

        warnings = lib.optional (opt.database.type.highestPrio == 800) "${prefix}.database.type is \"postgresql\", the default of nixpkgs' module, because this configuration uses its options (${usedNames}); this module's own default is SQLite. Set ${prefix}.database.type explicitly to silence this warning.";
      })
    ]
  );
}
