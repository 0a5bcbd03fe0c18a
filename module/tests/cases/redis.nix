{
  services.inventree = {
    enable = true;
    siteUrl = "https://inventree.example.org";
    database.type = "postgresql";
    cache.enable = true;
    background.workers = 4;
  };
}
