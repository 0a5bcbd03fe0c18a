# Declared users → the users JSON of docs/ARCHITECTURE.md (no passwords: only the name of the
# credential each password arrives in) and one credential per password file.
{ config, lib, ... }:
let
  cfg = config.services.inventree;
  secretPath = import ./lib/secret-path.nix { inherit lib; };

  credentialOf = name: "user-password-${name}";
in
{
  config = lib.mkIf cfg.enable {
    services.inventree.internal = {
      # Plugin settings ride along (only when declared, so the file, and with it the users digest
      # of a configuration without them, stays as it was): applied with the users.
      usersJson = builtins.toJSON (
        {
          undeclared = cfg.undeclaredUsers;
          users = lib.mapAttrs (
            name: user:
            {
              inherit (user)
                email
                is_superuser
                is_staff
                is_active
                ;
            }
            // lib.optionalAttrs (user.password_file != null) { password_credential = credentialOf name; }
          ) cfg.users;
        }
        // lib.optionalAttrs (cfg.pluginSettings != { }) { plugin_settings = cfg.pluginSettings; }
      );

      credentials = lib.mapAttrs' (
        name: user: lib.nameValuePair (credentialOf name) (secretPath.toPathString user.password_file)
      ) (lib.filterAttrs (_: user: user.password_file != null) cfg.users);
    };
  };
}
