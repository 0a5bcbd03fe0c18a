# Evaluate every case of ./cases (valid) and ./invalid.nix in one Nix process, sharing one
# nixpkgs instance, and return what the checks need: toplevel drvPath (valid cases), the
# InvenTree unit texts, config.yaml settings, the shared internal values, warnings and failed
# assertions. Used by module/tests/check.
{
  nixpkgs,
  # Extra cases, name -> module (e.g. a case pointing at a sentinel secret file).
  extraCases ? { },
}:
let
  pkgs = import nixpkgs { system = "x86_64-linux"; };
  inherit (pkgs) lib;

  evalCase =
    configuration:
    import ./eval.nix {
      inherit nixpkgs;
      configuration = {
        imports = [ configuration ];
        nixpkgs.pkgs = pkgs;
      };
    };

  unitNames =
    config:
    lib.filter (n: lib.hasPrefix "inventree" n || n == "redis-inventree.service") (
      lib.attrNames config.systemd.units
    );

  inspect =
    withToplevel: configuration:
    let
      system = evalCase configuration;
      inherit (system) config;
    in
    {
      failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
      inherit (config) warnings;
    }
    // lib.optionalAttrs withToplevel {
      # Forces the assertions too; only for cases expected to be valid.
      toplevel = config.system.build.toplevel.drvPath;
      units = lib.genAttrs (unitNames config) (n: config.systemd.units.${n}.text);
      nginx =
        if config.services.inventree.nginx.enable then
          {
            upstreams = lib.mapAttrs (_: u: lib.attrNames u.servers) config.services.nginx.upstreams;
            locations = lib.mapAttrs (_: l: {
              inherit (l) proxyPass alias extraConfig;
            }) config.services.nginx.virtualHosts.${config.services.inventree.nginx.hostName}.locations;
          }
        else
          null;
      internal = {
        inherit (config.services.inventree.internal)
          environment
          credentials
          settings
          usersJson
          commands
          ;
      };
      configYaml = builtins.toJSON config.services.inventree.internal.settings;
    };

  caseFiles = lib.filterAttrs (n: t: t == "regular" && lib.hasSuffix ".nix" n) (builtins.readDir ./cases);
  valid =
    lib.mapAttrs' (
      n: _: lib.nameValuePair (lib.removeSuffix ".nix" n) (./cases + "/${n}")
    ) caseFiles
    // extraCases;

  invalid = import ./invalid.nix;
in
{
  valid = lib.mapAttrs (_: inspect true) valid;
  invalid = lib.mapAttrs (_: case: {
    inherit (case) expect;
    result = inspect false case.config;
  }) invalid;
}
