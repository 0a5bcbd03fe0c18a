# `nix fmt`: treefmt with nixfmt (RFC 166 style) for Nix and rustfmt for the
# harness, so one command formats the whole repository.
{
  treefmt,
  nixfmt,
  rustfmt,
}:
treefmt.withConfig {
  name = "nixos-inventree-fmt";
  runtimeInputs = [
    nixfmt
    rustfmt
  ];
  settings = {
    on-unmatched = "info";
    tree-root-file = "flake.nix";
    formatter.nixfmt = {
      command = "nixfmt";
      includes = [ "*.nix" ];
    };
    formatter.rustfmt = {
      command = "rustfmt";
      options = [
        "--edition"
        "2021"
      ];
      includes = [ "*.rs" ];
    };
  };
}
