# nginx without siteUrl or hostName: both derive from the machine's host name.
{
  networking.hostName = "parts";
  networking.domain = "example.org";
  services.inventree = {
    enable = true;
    allowedHosts = [ "parts.example.org" ];
    nginx.enable = true;
  };
}
