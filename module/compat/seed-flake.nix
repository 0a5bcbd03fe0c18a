# The spellings of the flake this project grew from: it renamed `siteUrl` and `allowedHosts` to
# `config.site_url` and `config.allowed_hosts`. Both spellings work here and mean the same:
# - `config.site_url` set alone becomes `siteUrl` (links, CSRF origins, INVENTREE_SITE_URL, the
#   nginx host name and the allowed hosts all follow it);
# - `config.allowed_hosts` set alone is read like `allowedHosts` (empty means all; the host of the
#   site URL is always added);
# - both spellings set to different values fail, naming both.
# The two keys are declared options of the freeform `config` submodule so that their defaults come
# from `siteUrl`/`allowedHosts` and a value written by the user is told apart from the default.
{
  config,
  options,
  lib,
  ...
}:
let
  cfg = config.services.inventree;
  opt = options.services.inventree;
  prefix = "services.inventree";

  # Host part of an URL ("https://a.example:8443/x" -> "a.example"; "[::1]" kept whole).
  hostOf =
    url:
    let
      m = builtins.match "[a-zA-Z][a-zA-Z0-9+.-]*://([^/:]+|\\[[^]]*]).*" url;
    in
    if m == null then null else builtins.head m;

  # As `allowedHosts` documents (docs/options.md): empty means all hosts; the host of the site
  # URL is always added.
  effectiveHosts =
    hosts:
    lib.unique (
      (if hosts == [ ] then [ "*" ] else hosts)
      ++ lib.optional (hostOf cfg.siteUrl != null) (hostOf cfg.siteUrl)
    );

  # Whether any definition of `services.inventree.config` writes `key`. Only the user's do: the
  # module sets these two keys through the option defaults below, never as definitions.
  configWrites = key: lib.any (def: builtins.isAttrs def && def ? ${key}) opt.config.definitions;
  setByUser = o: o.highestPrio < (lib.mkOptionDefault { }).priority;

  siteUrlInBoth = configWrites "site_url" && setByUser opt.siteUrl;
  hostsInBoth = configWrites "allowed_hosts" && setByUser opt.allowedHosts;
  sameSet = a: b: lib.sort lib.lessThan (lib.unique a) == lib.sort lib.lessThan (lib.unique b);
in
{
  options.services.inventree.config = lib.mkOption {
    type = lib.types.submodule {
      options = {
        site_url = lib.mkOption {
          type = lib.types.str;
          default = cfg.siteUrl;
          defaultText = lib.literalExpression "config.services.inventree.siteUrl";
          example = "https://inventree.example.org";
          description = ''
            InvenTree's `site_url`. The same as {option}`services.inventree.siteUrl` (the
            spelling of the flake this project grew from): set either one; setting this one sets
            `siteUrl`, so everything derived from the site URL follows it.
          '';
        };

        allowed_hosts = lib.mkOption {
          type = lib.types.listOf lib.types.str;
          default = cfg.allowedHosts;
          defaultText = lib.literalExpression "config.services.inventree.allowedHosts";
          example = [ "inventree.example.org" ];
          apply = effectiveHosts;
          description = ''
            InvenTree's `allowed_hosts`. The same as {option}`services.inventree.allowedHosts` (the
            spelling of the flake this project grew from): set either one. Empty means all (`*`);
            the host of the site URL is always added to what is rendered.
          '';
        };
      };
    };
  };

  config = lib.mkIf cfg.enable {
    # Below a value the user gives siteUrl itself (100), above every default.
    services.inventree.siteUrl = lib.mkIf (configWrites "site_url") (
      lib.mkOverride 150 cfg.config.site_url
    );

    assertions = [
      {
        assertion = !siteUrlInBoth || cfg.config.site_url == cfg.siteUrl;
        message = "${prefix}.siteUrl = \"${cfg.siteUrl}\" and ${prefix}.config.site_url = \"${cfg.config.site_url}\" are two spellings of the same setting with different values: keep one of them.";
      }
      {
        assertion =
          !hostsInBoth || sameSet cfg.config.allowed_hosts (effectiveHosts cfg.allowedHosts);
        message = "${prefix}.allowedHosts = ${builtins.toJSON cfg.allowedHosts} and ${prefix}.config.allowed_hosts (${builtins.toJSON cfg.config.allowed_hosts} once the site host is added) are two spellings of the same setting with different values: keep one of them.";
      }
    ];
  };
}
