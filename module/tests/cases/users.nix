{
  services.inventree = {
    enable = true;
    siteUrl = "https://inventree.example.org";
    allowedHosts = [ "inventree.example.org" ];
    undeclaredUsers = "deactivate";
    users = {
      admin = {
        email = "admin@example.org";
        is_superuser = true;
        password_file = "/run/secrets/inventree-admin-password";
      };
      alice = {
        email = "alice@example.org";
        password_file = "/run/secrets/inventree-alice-password";
      };
      bob = {
        email = "bob@example.org";
        is_active = false;
      };
    };
  };
}
