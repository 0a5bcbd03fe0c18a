{
  services.inventree = {
    enable = true;
    siteUrl = "https://inventree.example.org";
    cache = {
      enable = true;
      createLocally = false;
      host = "redis.example.org";
      port = 6380;
      passwordFile = "/run/secrets/inventree-redis-password";
    };
  };
}
