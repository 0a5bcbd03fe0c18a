{
  services.inventree = {
    enable = true;
    siteUrl = "https://inventree.example.org";
    database = {
      type = "mysql";
      createLocally = false;
      host = "mariadb.example.org";
      passwordFile = "/run/secrets/inventree-db-password";
    };
  };
}
