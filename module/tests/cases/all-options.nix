# Every option of INTERFACE.md (and the module's own) set at once.
{
  services.inventree = {
    enable = true;
    siteUrl = "https://parts.example.org";
    bindIp = "0.0.0.0";
    bindPort = 8123;
    serverBind = "0.0.0.0:8123";
    allowedHosts = [
      "parts.example.org"
      "10.0.0.5"
    ];
    serverStartTimeout = "30min";
    dataDir = "/srv/inventree";
    config = {
      timezone = "Europe/Berlin";
      email = {
        host = "smtp.example.org";
        port = 587;
        tls = true;
        username = "inventree";
        sender = "inventree@example.org";
      };
      global_settings.INVENTREE_DEFAULT_CURRENCY = "EUR";
    };
    extraCredentials.INVENTREE_EMAIL_PASSWORD = "/run/secrets/inventree-smtp-password";
    users.admin = {
      email = "admin@example.org";
      is_superuser = true;
      is_staff = true;
      is_active = true;
      password_file = "/run/secrets/inventree-admin-password";
    };
    undeclaredUsers = "keep";
    secretKeyFile = "/run/secrets/inventree-secret-key";
    database = {
      type = "postgresql";
      createLocally = true;
      name = "inventree";
      user = "inventree";
    };
    cache = {
      enable = true;
      createLocally = true;
      host = "127.0.0.1";
      port = 6390;
      passwordFile = "/run/secrets/inventree-redis-password";
    };
    server = {
      workers = 3;
      timeout = 120;
      extraArgs = [ "--max-requests=1200" ];
    };
    background = {
      workers = 2;
      timeout = 300;
    };
    nginx = {
      enable = true;
      hostName = "parts.example.org";
    };
    backup = {
      enable = true;
      startAt = "daily";
      directory = "/srv/inventree-backup";
      keep = 30;
    };
    openFirewall = true;
    user = "inventree";
    group = "inventree";
  };
  services.nginx.virtualHosts."parts.example.org" = {
    forceSSL = true;
    sslCertificate = "/var/lib/certs/parts.example.org/fullchain.pem";
    sslCertificateKey = "/var/lib/certs/parts.example.org/key.pem";
  };
}
