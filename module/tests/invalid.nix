# One configuration per validation message: `expect` is a substring of the failed assertion or
# warning it must raise (the harness's fixtures/invalid/*.expected hold the same messages).
let
  case = expect: cfg: {
    inherit expect;
    config = {
      services.inventree = {
        enable = true;
      }
      // cfg;
    };
  };
  site = "https://inventree.example.org";
in
{
  site-url-without-scheme = case "services.inventree.siteUrl = \"inventree.example.org\" has no scheme" {
    siteUrl = "inventree.example.org";
  };
  site-url-bad-scheme = case "must use http:// or https://" { siteUrl = "ftp://inventree.example.org"; };
  site-url-space = case "contains a space" { siteUrl = "https://inventree.example.org /x"; };
  site-url-path = case "has a path: InvenTree must be served at the root of its host" {
    siteUrl = "https://example.org/inventree";
  };
  allowed-hosts-star = case "services.inventree.allowedHosts resolves to \"*\"" { siteUrl = site; };
  allowed-hosts-explicit-star = case "services.inventree.allowedHosts resolves to \"*\"" {
    siteUrl = site;
    allowedHosts = [ "*" ];
  };
  unix-socket-relative = case "a unix socket needs an absolute path" {
    serverBind = "unix:inventree.sock";
  };
  unix-socket-open-firewall = case "services.inventree.openFirewall has no effect: services.inventree.serverBind is a unix socket" {
    serverBind = "unix:/run/inventree/inventree.sock";
    openFirewall = true;
  };
  open-firewall-loopback = case "listens on loopback only" { openFirewall = true; };
  server-start-timeout = case "is not a systemd time span" { serverStartTimeout = "ten minutes!"; };
  data-dir-relative = case "services.inventree.dataDir = \"var/lib/inventree\" must be an absolute path" {
    dataDir = "var/lib/inventree";
  };
  data-dir-store = case "is in the read-only Nix store" { dataDir = "/nix/store/inventree"; };
  config-path-relative = case "static_root, media_root and backup_dir must be absolute paths" {
    config.media_root = "media";
  };

  secret-key-path-literal = case "services.inventree.secretKeyFile is a Nix path literal" {
    secretKeyFile = ./invalid.nix;
  };
  secret-key-store-path = case "services.inventree.secretKeyFile points into the world-readable Nix store" {
    secretKeyFile = "/nix/store/00000000000000000000000000000000-secret";
  };
  secret-key-relative = case "services.inventree.secretKeyFile = \"secret\" is not an absolute path" {
    secretKeyFile = "secret";
  };
  db-password-path-literal = case "services.inventree.database.passwordFile is a Nix path literal" {
    database = {
      type = "postgresql";
      createLocally = false;
      host = "db.example.org";
      passwordFile = ./invalid.nix;
    };
  };
  cache-password-path-literal = case "services.inventree.cache.passwordFile is a Nix path literal" {
    cache = {
      enable = true;
      passwordFile = ./invalid.nix;
    };
  };
  user-password-path-literal = case "services.inventree.users.admin.password_file is a Nix path literal" {
    users.admin = {
      email = "admin@example.org";
      is_superuser = true;
      password_file = ./invalid.nix;
    };
  };
  extra-credential-path-literal = case "services.inventree.extraCredentials.INVENTREE_EMAIL_PASSWORD is a Nix path literal" {
    extraCredentials.INVENTREE_EMAIL_PASSWORD = ./invalid.nix;
  };
  config-secret-key = case "services.inventree.config.secret_key would write a secret into config.yaml" {
    config.secret_key = "hunter2";
  };
  config-db-password = case "services.inventree.config.database.PASSWORD would write a secret into config.yaml" {
    config.database.PASSWORD = "hunter2";
  };
  config-email-password = case "services.inventree.config.email.password would write a secret into config.yaml" {
    config.email.password = "hunter2";
  };
  config-cache-password = case "services.inventree.config.cache.password would write a secret into config.yaml" {
    config.cache.password = "hunter2";
  };
  config-admin-password = case "services.inventree.config.admin_password would write a secret into config.yaml" {
    config.admin_password = "hunter2";
  };

  db-local-with-host = case "database.createLocally = true creates the database on this host" {
    database = {
      type = "postgresql";
      host = "db.example.org";
    };
  };
  db-local-user-mismatch = case "services.inventree.database.user = \"someone\" differs from services.inventree.user" {
    database = {
      type = "mysql";
      user = "someone";
    };
  };
  db-local-pg-name-mismatch = case "must equal services.inventree.database.user = \"inventree\" when PostgreSQL is created locally" {
    database = {
      type = "postgresql";
      name = "parts";
    };
  };
  db-local-with-password = case "a locally created database uses unix-socket authentication without password" {
    database = {
      type = "postgresql";
      passwordFile = "/run/secrets/db";
    };
  };
  db-remote-without-host = case "services.inventree.database.host is not set: with createLocally = false" {
    database = {
      type = "postgresql";
      createLocally = false;
    };
  };
  db-remote-without-password = case "services.inventree.database.passwordFile is not set for the remote postgresql server" {
    database = {
      type = "postgresql";
      createLocally = false;
      host = "db.example.org";
    };
  };
  db-sqlite-relative = case "must be the absolute path of the SQLite file" { database.name = "inventree.db"; };
  db-sqlite-with-host = case "have no effect with database.type = \"sqlite\"" { database.host = "db.example.org"; };
  db-socket-and-port = case "services.inventree.database.port has no effect: services.inventree.database.socket" {
    database = {
      type = "postgresql";
      port = 5432;
    };
  };

  cache-local-remote-host = case "services.inventree.cache.host = \"redis.example.org\" is not loopback" {
    cache = {
      enable = true;
      host = "redis.example.org";
    };
  };
  cache-port-clash = case "services.inventree.cache.port = 8000 is also services.inventree.bindPort" {
    cache = {
      enable = true;
      port = 8000;
    };
  };
  cache-password-unused = case "services.inventree.cache.passwordFile has no effect while services.inventree.cache.enable = false" {
    cache.passwordFile = "/run/secrets/redis";
  };
  workers-without-cache = case "has no effect without a shared cache" { background.workers = 4; };
  workers-with-sqlite = case "has no effect with SQLite" {
    background.workers = 4;
    cache.enable = true;
  };

  user-name-invalid = case "user names may contain only letters, digits" {
    users."bad name".email = "x@example.org";
  };
  user-email-invalid = case "services.inventree.users.<name>.email must be an e-mail address" {
    users.alice.email = "alice";
  };
  undeclared-delete-without-users = case "with no services.inventree.users declared would delete every user" {
    undeclaredUsers = "delete";
  };
  undeclared-without-superuser = case "requires at least one declared active superuser" {
    undeclaredUsers = "deactivate";
    users.alice.email = "alice@example.org";
  };
  superuser-without-password = case "have no password_file: they cannot log in" {
    users.admin = {
      email = "admin@example.org";
      is_superuser = true;
    };
  };
  root-user = case "must not be root" { user = "root"; };
  nginx-host-mismatch = case "is not the host of services.inventree.siteUrl" {
    siteUrl = site;
    nginx = {
      enable = true;
      hostName = "other.example.org";
    };
  };
  nginx-https-without-tls = case "is https, but the nginx virtual host inventree.example.org has no TLS" {
    siteUrl = site;
    nginx.enable = true;
  };
  server-extra-args-bind = case "services.inventree.server.extraArgs must not contain --bind" {
    server.extraArgs = [ "--bind=0.0.0.0:9000" ];
  };
  backup-keep-zero = case "services.inventree.backup.keep = 0 must be at least 1" {
    backup = {
      enable = true;
      keep = 0;
    };
  };
  backup-directory-relative = case "services.inventree.backup.directory = \"backup\" must be an absolute path" {
    backup = {
      enable = true;
      directory = "backup";
    };
  };
  backup-dir-mismatch = case "services.inventree.config.backup_dir differs from services.inventree.backup.directory" {
    backup.enable = true;
    config.backup_dir = "/srv/backup";
  };
}
