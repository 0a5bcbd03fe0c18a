{
  services.inventree = {
    enable = true;
    siteUrl = "https://inventree.example.org";
    allowedHosts = [ "inventree.example.org" ];
    backup = {
      enable = true;
      startAt = "*-*-* 03:15:00";
      keep = 7;
    };
  };
}
