{
  services.inventree = {
    enable = true;
    siteUrl = "https://inventree.example.org";
    allowedHosts = [ "inventree.example.org" ];
    serverBind = "unix:/run/inventree/inventree.sock";
    nginx.enable = true;
    openFirewall = true;
  };
  services.nginx.virtualHosts."inventree.example.org" = {
    forceSSL = true;
    sslCertificate = "/var/lib/certs/inventree.example.org/fullchain.pem";
    sslCertificateKey = "/var/lib/certs/inventree.example.org/key.pem";
  };
}
