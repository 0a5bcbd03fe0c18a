{
  services.inventree = {
    enable = true;
    siteUrl = "https://inventree.example.org";
    allowedHosts = [ "inventree.example.org" ];
    serverBind = "unix:/run/inventree/inventree.sock";
    nginx.enable = true;
    openFirewall = true;
  };
}
