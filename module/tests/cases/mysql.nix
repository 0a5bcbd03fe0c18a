{
  services.inventree = {
    enable = true;
    siteUrl = "https://inventree.example.org";
    database.type = "mysql";
  };
}
