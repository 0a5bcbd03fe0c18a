# The Rust harness `inventree-harness`. Crate hashes come from Cargo.lock
# (`cargoLock.lockFile`), so no vendor hash has to be computed by a build.
{
  lib,
  rustPlatform,
}:
let
  root = ../.;
  cargoToml = lib.importTOML (root + "/Cargo.toml");
in
rustPlatform.buildRustPackage {
  pname = cargoToml.package.name;
  inherit (cargoToml.package) version;

  # Only what cargo reads: a change to the module, the runtime or the docs
  # does not rebuild the harness.
  src = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions (
      [
        (root + "/Cargo.toml")
        (root + "/Cargo.lock")
        (root + "/src")
      ]
      ++ lib.filter lib.pathExists [
        (root + "/tests")
        (root + "/fixtures")
        (root + "/snapshots")
      ]
    );
  };

  cargoLock.lockFile = root + "/Cargo.lock";

  # Its tests evaluate flakes and start InvenTree: they need nix and the
  # inputs, which the build sandbox has not.
  doCheck = false;

  meta = {
    inherit (cargoToml.package) description;
    license = lib.licenses.mit;
    mainProgram = "inventree-harness";
    platforms = lib.platforms.linux;
  };
}
