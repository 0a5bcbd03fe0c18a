{
  description = "InvenTree as a native, hardened NixOS service, and the harness that proves it works";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

    # uv2nix turns uv.lock into Python derivations; pyproject-nix provides the
    # builders it uses; build-system-pkgs provides setuptools, hatchling & co.
    # for packages built from sdists. All of them use our nixpkgs.
    pyproject-nix = {
      url = "github:pyproject-nix/pyproject.nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    uv2nix = {
      url = "github:pyproject-nix/uv2nix";
      inputs.nixpkgs.follows = "nixpkgs";
      inputs.pyproject-nix.follows = "pyproject-nix";
    };
    pyproject-build-systems = {
      url = "github:pyproject-nix/build-system-pkgs";
      inputs.nixpkgs.follows = "nixpkgs";
      inputs.pyproject-nix.follows = "pyproject-nix";
      inputs.uv2nix.follows = "uv2nix";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      pyproject-nix,
      uv2nix,
      pyproject-build-systems,
    }:
    let
      inherit (nixpkgs) lib;

      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];

      # One nixpkgs instance per system, shared by every output below.
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      # The `pkgs.inventree` scope built on any package set `pkgs` (the
      # overlay, the module default and `packages` all go through here).
      scopeFor =
        pkgs:
        import ./pkgs/scope.nix {
          inherit (pkgs) lib newScope;
          inherit pyproject-nix uv2nix pyproject-build-systems;
        };

      # `packages` may hold derivations only; the scope also carries
      # `callPackage`, `overrideScope` and friends.
      derivationsOf = scope: lib.filterAttrs (_: lib.isDerivation) scope;
    in
    {
      overlays.default = final: _prev: { inventree = scopeFor final; };

      packages = forAllSystems (
        pkgs:
        let
          scope = scopeFor pkgs;
        in
        derivationsOf scope // { default = scope.server; }
      );

      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./module ];
          services.inventree.packages = lib.mkDefault (scopeFor pkgs);
        };

      apps = forAllSystems (
        pkgs:
        let
          harness = {
            type = "app";
            program = lib.getExe self.packages.${pkgs.stdenv.hostPlatform.system}.harness;
            meta.description = "Evaluate, run and probe InvenTree as the module configures it";
          };
        in
        {
          inherit harness;
          default = harness;
        }
      );

      # NixOS VM tests, one per scenario; `vm-tests/default.nix` maps
      # `{ pkgs, self }` to an attrset of tests.
      checks = forAllSystems (
        pkgs:
        lib.optionalAttrs (builtins.pathExists ./vm-tests/default.nix) (
          import ./vm-tests { inherit pkgs self; }
        )
      );

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          name = "nixos-inventree";
          packages = [
            pkgs.cargo
            pkgs.rustc
            pkgs.clippy
            pkgs.rustfmt
            pkgs.uv
            pkgs.python313
            pkgs.nixfmt
            pkgs.nix
            self.formatter.${pkgs.stdenv.hostPlatform.system}
          ];
          # Let uv manage .venv with the interpreter above, never a download.
          env.UV_PYTHON_DOWNLOADS = "never";
          env.UV_PYTHON = lib.getExe pkgs.python313;
        };

        # Just enough to regenerate pyproject.toml/uv.lock for a version bump.
        uv = pkgs.mkShell {
          name = "nixos-inventree-uv";
          packages = [
            pkgs.uv
            pkgs.python313
          ];
          env.UV_PYTHON_DOWNLOADS = "never";
          env.UV_PYTHON = lib.getExe pkgs.python313;
        };
      });

      formatter = forAllSystems (pkgs: pkgs.callPackage ./pkgs/formatter.nix { });

      # Helpers for the harness and for users composing their own package set.
      lib = {
        inherit systems scopeFor;
        # The pinned InvenTree release (version, commit, hashes).
        release = lib.importJSON ./pkgs/version.json;
      };
    };
}
