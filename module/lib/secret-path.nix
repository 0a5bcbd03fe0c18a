# Helpers for options that name a secret file.
#
# Secret files are read by systemd at run time (`LoadCredential=`), so the options take a
# *string* holding an absolute path. A Nix path literal (`./db-password`) would be copied into
# the world-readable store as soon as it is interpolated, so the type accepts it only to be able
# to reject it with a clear assertion (see ../validation.nix) instead of a generic type error,
# and nothing in the module ever interpolates such a value.
{ lib }:
rec {
  # Accepts a string or a path literal; validation.nix rejects the path literal with a message.
  type = lib.mkOptionType {
    name = "secretPath";
    description = "absolute path string of a secret file (not a Nix path literal)";
    descriptionClass = "noun";
    check = v: builtins.isString v || builtins.isPath v;
    merge = lib.mergeEqualOption;
  };

  # Why a value cannot be used, or null when it is fine. `option` is the option's full name.
  problem =
    option: value:
    if builtins.isPath value then
      "${option} is a Nix path literal, which would copy the secret into the world-readable "
      + "Nix store: use a string path like \"/run/secrets/...\" so the secret is not copied into the store."
    else if lib.hasPrefix builtins.storeDir value then
      "${option} points into the world-readable Nix store: "
      + "keep the secret outside the store and use a string path like \"/run/secrets/...\"."
    else if !(lib.hasPrefix "/" value) then
      "${option} = \"${value}\" is not an absolute path: "
      + "use an absolute string path like \"/run/secrets/...\"."
    else
      null;

  # The path as a string, without ever copying a path literal into the store.
  toPathString = value: if builtins.isPath value then builtins.toString value else value;
}
