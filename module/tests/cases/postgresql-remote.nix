{
  services.inventree = {
    enable = true;
    siteUrl = "https://inventree.example.org";
    database = {
      type = "postgresql";
      createLocally = false;
      host = "db.example.org";
      port = 5433;
      name = "inventree_prod";
      user = "inventree_app";
      passwordFile = "/run/secrets/inventree-db-password";
    };
  };
}
