# Evaluate many NixOS systems with the nixos-inventree module in ONE nix process and return, per
# system, what the module renders. Embedded in the harness (src/eval/batch.rs) and applied to the
# flake's `nixosModules` output:
#
#   nix eval --json --impure <flake>#nixosModules --apply 'import ./inspect.nix ./request.json'
#
# request.json: { "nixpkgs": "<store path>", "system": "x86_64-linux",
#                 "fixtures": [ { "name": "…", "path": "/abs/fixture.nix", "render": true } ],
#                 "extraModules": [ "/abs/module.nix" ], "strict": false }
#
# Speed: every system shares ONE nixpkgs instance (`nixpkgs.pkgs`) and one InvenTree package scope,
# so nixpkgs and the Python package set are evaluated once, not once per fixture.
#
# Robustness: assertions are evaluated here (not through `system.build.toplevel`, which would abort
# the whole batch at the first failing fixture), and each fixture is wrapped in `tryEval`, so one
# broken fixture is reported as `ok = false` (the harness then re-evaluates it alone to get nix's
# message) without losing the others.
requestFile: nixosModules:
let
  request = builtins.fromJSON (builtins.readFile requestFile);
  nixpkgs = request.nixpkgs;
  system = request.system or "x86_64-linux";
  strict = request.strict or false;

  pkgs = import nixpkgs {
    inherit system;
    config = { };
    overlays = [ ];
  };
  inherit (pkgs) lib;
  evalConfig = import (nixpkgs + "/nixos/lib/eval-config.nix");

  # The package scope `nixosModules.default` would build for `pkgs`, built once for all systems.
  # It sets `services.inventree.packages = lib.mkDefault (scopeFor pkgs)`; calling the module
  # function with our `pkgs` gives that value. Anything else (a different module shape) falls back
  # to letting each system build its own scope.
  sharedPackages =
    let
      attempt = builtins.tryEval (
        let
          m = nixosModules.default {
            inherit lib pkgs;
            config = { };
            options = { };
          };
          v = m.services.inventree.packages or null;
        in
        if builtins.isAttrs v && (v._type or null) == "override" then v.content else null
      );
    in
    if attempt.success then attempt.value else null;

  # The least a NixOS system needs to evaluate; no bootloader, one file system.
  baseModule = {
    boot.loader.grub.enable = false;
    fileSystems."/" = {
      device = "/dev/disk/by-label/nixos";
      fsType = "ext4";
    };
    system.stateVersion = lib.trivial.release;
    nixpkgs.pkgs = pkgs;
    # Documentation would evaluate every option's description: slow and irrelevant here.
    documentation.enable = false;
    documentation.nixos.enable = false;
  };

  sharedPackagesModule = lib.optionalAttrs (sharedPackages != null) {
    services.inventree.packages = lib.mkOverride 900 sharedPackages;
    # For fixtures written as a flake user writes them: `inventreeScope` is the scope this
    # flake's `overlays.default` puts at `pkgs.inventree` (here `pkgs.inventree` stays
    # nixpkgs' own single package, which other fixtures need).
    _module.args.inventreeScope = sharedPackages;
  };

  evalFixture =
    fixture:
    evalConfig {
      system = null;
      modules = [
        nixosModules.default
        baseModule
        sharedPackagesModule
        fixture.path
      ]
      ++ map (p: /. + p) (request.extraModules or [ ]);
    };

  # Assertions and warnings are taken from the files that matter here: the InvenTree module, the
  # fixture itself, and the NixOS modules the InvenTree module configures. Forcing every
  # assertion of all ~1500 NixOS modules would cost more than rendering the system itself
  # (measured: ~2.2 s of ~3.9 s per fixture), and says nothing about InvenTree.
  relevantFiles = [
    "/module/"
    "/services/web-servers/nginx/"
    "/services/databases/postgresql"
    "/services/databases/mysql"
    "/services/databases/redis"
    "/security/acme/"
    "/config/users-groups.nix"
    "/system/boot/systemd.nix"
  ];
  isRelevantFile = file: lib.any (part: lib.hasInfix part file) relevantFiles;
  # The merged definitions of a list option, from the relevant files only.
  relevantDefinitions =
    option:
    lib.concatMap (d: d.value) (
      lib.filter (d: isRelevantFile d.file || fixtureFiles ? ${d.file}) option.definitionsWithLocations
    );
  # Definitions made by the InvenTree module itself (its files live in the flake's module/).
  moduleDefinitions =
    option:
    lib.concatMap (d: d.value) (lib.filter (d: lib.hasInfix "/module/" d.file) option.definitionsWithLocations);
  fixtureFiles = lib.listToAttrs (map (f: lib.nameValuePair f.path true) request.fixtures);

  # Unit names that belong to InvenTree.
  isInventreeUnit = name: lib.hasPrefix "inventree" name;

  # Keep only JSON-friendly, meaningful values of an attrset (drop nulls, empty lists/sets).
  clean = lib.filterAttrs (
    _: v:
    v != null
    && v != [ ]
    && v != { }
    && !(builtins.isFunction v)
  );

  serviceInfo =
    config: name:
    let
      s = config.systemd.services.${name};
    in
    {
      kind = "service";
      inherit (s) description;
      serviceConfig = s.serviceConfig;
      # [Unit] settings beyond dependencies and description: start limits, conditions and the
      # mounts a unit waits for.
      unitConfig = lib.filterAttrs (
        n: _:
        lib.hasPrefix "StartLimit" n
        || lib.hasPrefix "Condition" n
        || lib.hasPrefix "Assert" n
        || n == "RequiresMountsFor"
      ) s.unitConfig;
      environment = s.environment;
      dependencies = clean {
        inherit (s)
          after
          before
          requires
          wants
          wantedBy
          requiredBy
          partOf
          bindsTo
          ;
      };
      startAt = s.startAt;
      script = s.script;
      preStart = s.preStart;
      text = config.systemd.units."${name}.service".text;
    };

  otherUnitInfo = config: kind: attrs: name: {
    inherit kind;
    text = config.systemd.units."${name}.${kind}".text;
    dependencies = clean {
      inherit (attrs.${name})
        after
        before
        requires
        wants
        wantedBy
        partOf
        ;
    };
  };

  # Every inventree* unit: services, timers, targets, sockets, keyed by full unit name.
  unitsOf =
    config:
    let
      services = lib.filter isInventreeUnit (lib.attrNames config.systemd.services);
      timers = lib.filter isInventreeUnit (lib.attrNames config.systemd.timers);
      targets = lib.filter isInventreeUnit (lib.attrNames config.systemd.targets);
      sockets = lib.filter isInventreeUnit (lib.attrNames config.systemd.sockets);
    in
    lib.listToAttrs (
      map (n: lib.nameValuePair "${n}.service" (serviceInfo config n)) services
      ++ map (
        n: lib.nameValuePair "${n}.timer" (otherUnitInfo config "timer" config.systemd.timers n)
      ) timers
      ++ map (
        n: lib.nameValuePair "${n}.target" (otherUnitInfo config "target" config.systemd.targets n)
      ) targets
      ++ map (
        n: lib.nameValuePair "${n}.socket" (otherUnitInfo config "socket" config.systemd.sockets n)
      ) sockets
    );

  # The service user and group, and every other user that joins the group (e.g. nginx).
  accountsOf =
    config:
    let
      cfg = config.services.inventree;
      userFields =
        u:
        clean {
          inherit (u)
            isSystemUser
            isNormalUser
            group
            extraGroups
            home
            createHome
            description
            uid
            ;
        };
      members = lib.filterAttrs (
        n: u: n == cfg.user || lib.elem cfg.group u.extraGroups
      ) config.users.users;
    in
    {
      users = lib.mapAttrs (_: userFields) members;
      groups = lib.mapAttrs (_: g: clean { inherit (g) gid members; }) (
        lib.filterAttrs (n: _: n == cfg.group) config.users.groups
      );
    };

  # tmpfiles rules that concern InvenTree (the rest of the system has many).
  tmpfilesOf = options: moduleDefinitions options.systemd.tmpfiles.rules;

  locationInfo =
    l:
    clean {
      inherit (l)
        proxyPass
        proxyWebsockets
        recommendedProxySettings
        alias
        root
        index
        tryFiles
        return
        priority
        ;
      extraConfig = if l.extraConfig == "" then null else l.extraConfig;
    };

  nginxOf =
    config:
    let
      cfg = config.services.inventree;
      vhost = config.services.nginx.virtualHosts.${cfg.nginx.hostName};
    in
    if !cfg.nginx.enable then
      null
    else
      {
        hostName = cfg.nginx.hostName;
        serverName = vhost.serverName;
        serverAliases = vhost.serverAliases;
        forceSSL = vhost.forceSSL;
        enableACME = vhost.enableACME;
        root = vhost.root;
        extraConfig = vhost.extraConfig;
        locations = lib.mapAttrs (_: locationInfo) vhost.locations;
        upstreams = config.services.nginx.upstreams;
        nginxUserGroups = config.users.users.nginx.extraGroups or [ ];
        recommendedProxySettings = config.services.nginx.recommendedProxySettings;
      };

  # Database and cache servers the module turns on.
  servicesOf =
    config: options:
    let
      pg = config.services.postgresql;
      my = config.services.mysql;
      redis = config.services.redis.servers.inventree or null;
    in
    {
      postgresql =
        if pg.enable then
          {
            inherit (pg) ensureDatabases ensureUsers;
            package = pg.package.name;
          }
        else
          null;
      mysql =
        if my.enable then
          {
            inherit (my) ensureDatabases ensureUsers;
            package = my.package.name;
          }
        else
          null;
      redis =
        if redis != null && redis.enable then
          clean {
            inherit (redis)
              port
              bind
              unixSocket
              requirePassFile
              user
              ;
          }
        else
          null;
      firewall = {
        inherit (config.networking.firewall) allowedTCPPorts;
      };
      # What the module puts on the PATH (not every system package: forcing all their names is slow).
      adminCommands = map (p: p.name or (toString p)) (moduleDefinitions options.environment.systemPackages);
    };

  # Scripts the module's units and admin commands run (writeShellScript, writeShellScriptBin…):
  # store path → text and where in the path the file lies, so the systemd tier can install
  # stand-ins running the same text. Scripts are derivations with a `text` attribute, found in
  # the InvenTree units' serviceConfig values, in the packages the module puts on the PATH, and in
  # `internal.scripts` (those a unit names inside a string, e.g. `+${script} arg`).
  scriptsOf =
    config: options:
    let
      isScript = v: lib.isDerivation v && v ? text;
      unitValues = lib.concatMap (
        n: lib.flatten (lib.attrValues config.systemd.services.${n}.serviceConfig)
      ) (lib.filter isInventreeUnit (lib.attrNames config.systemd.services));
      scripts = lib.filter isScript (
        unitValues
        ++ moduleDefinitions options.environment.systemPackages
        ++ config.services.inventree.internal.scripts
      );
    in
    lib.listToAttrs (
      map (
        d:
        lib.nameValuePair (builtins.unsafeDiscardStringContext (toString d)) {
          inherit (d) text;
          destination = d.destination or "";
          executable = d.executable or false;
        }
      ) scripts
    );

  # With plugins declared: the Python environment the units run (its drvPath: it instantiates),
  # the packages the plugins add to InvenTree's environment (store names), and for each package
  # the overrides file defines, whether the environment's package is the overridden one.
  pluginsOf =
    config:
    let
      cfg = config.services.inventree;
      packages = cfg.internal.packages;
      storeNames =
        python:
        map (p: lib.concatStringsSep "-" (lib.drop 1 (lib.splitString "-" (baseNameOf p)))) (
          lib.splitString ":" python.NIX_PYPROJECT_DEPS
        );
      withoutOverrides = packages.overrideScope (_: _: { pluginOverrides = null; });
      overridden = lib.attrNames (import cfg.pluginOverrides packages.python-set packages.python-set);
    in
    if cfg.pluginWorkspace == null && cfg.pluginOverrides == null then
      null
    else
      {
        python = {
          inherit (packages.python) name drvPath;
        };
        added = lib.subtractLists (storeNames cfg.packages.python) (storeNames packages.python);
        overrides = lib.optionals (cfg.pluginOverrides != null) (
          map (name: {
            inherit name;
            applied = packages.python-set.${name}.drvPath != withoutOverrides.python-set.${name}.drvPath;
          }) overridden
        );
      };

  render =
    config: options:
    let
      cfg = config.services.inventree;
    in
    {
      settings = cfg.internal.settings;
      units = unitsOf config;
      accounts = accountsOf config;
      tmpfiles = tmpfilesOf options;
      nginx = nginxOf config;
      services = servicesOf config options;
      scripts = scriptsOf config options;
      plugins = pluginsOf config;
      internal = {
        inherit (cfg.internal)
          environment
          credentials
          settings
          commands
          ;
        configFile = toString cfg.internal.configFile;
        users = builtins.fromJSON cfg.internal.usersJson;
      };
    };

  # Force a value completely, catching what `tryEval` can catch (throw, assert, module errors).
  # Forced through `toJSON` (as the output will be), not `deepSeq`, which would walk into every
  # derivation's attributes and through the whole package graph.
  # In strict mode nothing is caught, so nix reports the real error message.
  attempt =
    v:
    let
      forced = builtins.seq (builtins.stringLength (builtins.toJSON v)) v;
      r = if strict then { success = true; value = forced; } else builtins.tryEval forced;
    in
    if r.success then
      {
        ok = true;
        value = r.value;
      }
    else
      {
        ok = false;
        value = null;
      };

  # Why a fixture's options do not evaluate, found without leaving the batch: the first option of
  # `services.inventree` with a definition its type rejects, worded exactly as the module system
  # words it (lib/modules.nix). `null` when the cause is elsewhere (then the harness re-evaluates
  # the fixture alone for nix's own message).
  diagnose =
    sys:
    let
      options = lib.collect lib.isOption sys.options.services.inventree;
      problem =
        opt:
        let
          found = builtins.tryEval (
            let
              invalid = lib.filter (d: !(opt.type.check d.value)) opt.definitionsWithLocations;
            in
            if invalid == [ ] then
              null
            else
              "A definition for option `${lib.showOption opt.loc}' is not of type `${opt.type.description}'. Definition values:${lib.options.showDefs invalid}"
          );
        in
        if found.success then found.value else null;
      problems = lib.filter (p: p != null) (map problem options);
      result = builtins.tryEval (if problems == [ ] then null else builtins.head problems);
    in
    if result.success then result.value else null;

  inspect =
    fixture:
    let
      sys = evalFixture fixture;
      inherit (sys) config;
      checks = attempt {
        failedAssertions = map (a: a.message) (
          lib.filter (a: !a.assertion) (relevantDefinitions sys.options.assertions)
        );
        warnings = relevantDefinitions sys.options.warnings;
      };
      rendered = if fixture.render or true then attempt (render config sys.options) else null;
    in
    {
      inherit (fixture) name;
      checksOk = checks.ok;
      diagnosis = if checks.ok then null else diagnose sys;
      failedAssertions = if checks.ok then checks.value.failedAssertions else null;
      warnings = if checks.ok then checks.value.warnings else null;
      renderOk = if rendered == null then null else rendered.ok;
      rendered = if rendered == null then null else rendered.value;
    };
in
{
  sharedPackages = sharedPackages != null;
  fixtures = map inspect request.fixtures;
}
