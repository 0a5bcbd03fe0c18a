# Shared pieces of the nixos-inventree VM tests: node defaults, test secrets, and the test-script
# prelude (`common.py`). Scenario files receive this attrset as the module argument `inventree`.
{
  pkgs,
  lib,
  self,
}:
let
  system = pkgs.stdenv.hostPlatform.system;

  # The probe inside every VM is the harness package: the same code that checks host and live
  # instances.
  harness = self.packages.${system}.harness;

  # Test secrets. The module only ever receives the *path* (a string); the content is written inside
  # the VM at boot by systemd-tmpfiles, so no option value is a Nix path literal that would copy a
  # secret into the store. The sentinels are distinctive so a leak is easy to grep for.
  secrets = {
    adminPassword = {
      path = "/run/secrets/inventree-admin-password";
      value = "vm-sentinel-admin-9f1c";
    };
    staffPassword = {
      path = "/run/secrets/inventree-staff-password";
      value = "vm-sentinel-staff-42aa";
    };
    readerPassword = {
      path = "/run/secrets/inventree-reader-password";
      value = "vm-sentinel-reader-07be";
    };
    secretKey = {
      path = "/run/secrets/inventree-secret-key";
      value = "vm-sentinel-secret-key-3c5d8e0f6a7b4c1d2e9f8a7b6c5d4e3f2a1b0c9d";
    };
  };

  admin = {
    name = "admin";
    email = "admin@example.org";
    passwordFile = secrets.adminPassword.path;
  };

  # tmpfiles `f` writes the argument as the file's content when the file is missing; /run is empty
  # at every boot, so the secrets are back before any InvenTree unit starts, also after a reboot.
  secretFiles = lib.mapAttrs' (
    _: secret:
    lib.nameValuePair secret.path {
      f = {
        mode = "0400";
        user = "root";
        group = "root";
        argument = secret.value;
      };
    }
  ) secrets;

  # Applied to every node of every scenario. Scenarios state only their differences.
  nodeDefaults =
    { pkgs, ... }:
    {
      imports = [ self.nixosModules.default ];

      # Migrations and two gunicorn workers need more than the 1 GiB default.
      virtualisation.memorySize = 2048;
      virtualisation.cores = 2;
      virtualisation.diskSize = 4096;

      environment.systemPackages = [
        harness
        pkgs.curl
        pkgs.jq
      ];

      systemd.tmpfiles.settings."10-inventree-vm-secrets" = secretFiles;

      services.inventree = {
        enable = true;
        siteUrl = lib.mkDefault "http://localhost:8000";
        # Only the names the tests use; an empty list would mean "*" (and a warning).
        allowedHosts = lib.mkDefault [ "localhost" ];
        users.${admin.name} = {
          inherit (admin) email;
          is_superuser = true;
          is_staff = true;
          password_file = admin.passwordFile;
        };
        # The VMs are offline: the update check would fail and count as a failed task.
        config.global_settings.INVENTREE_UPDATE_CHECK_INTERVAL = 0;
      };
    };

  # Python constants the shared helpers (common.py) read; rendered from the values above so the
  # test scripts and the node configurations cannot disagree.
  pythonConstants = ''
    ADMIN_USER = ${builtins.toJSON admin.name}
    ADMIN_PASSWORD_FILE = ${builtins.toJSON admin.passwordFile}
    SENTINELS = ${builtins.toJSON (lib.mapAttrsToList (_: s: s.value) secrets)}
    HARNESS = ${builtins.toJSON (lib.getExe' harness "inventree-harness")}
  '';

  prelude = pythonConstants + builtins.readFile ./common.py;

  # Prefix a scenario's test script (a string, or a function of the test's `nodes`) with the
  # shared helpers.
  testScript =
    script:
    if lib.isFunction script then args: prelude + "\n" + script args else prelude + "\n" + script;
in
{
  inherit
    admin
    harness
    nodeDefaults
    secrets
    testScript
    ;

  # Build one scenario module (a NixOS test module, as in nixpkgs' nixos/tests) into a test. The
  # test is named after the file: the flake check `defaults` is the test `inventree-defaults`.
  mkTest =
    scenarioName: scenario:
    pkgs.testers.runNixOSTest {
      imports = [
        scenario
        {
          name = lib.mkDefault "inventree-${scenarioName}";
          defaults = nodeDefaults;
        }
      ];
      _module.args.inventree = {
        inherit
          admin
          harness
          secrets
          testScript
          ;
      };
    };
}
