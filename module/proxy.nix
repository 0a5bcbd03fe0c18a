# Optional nginx virtual host, after InvenTree's own nginx config (contrib/container/nginx.conf):
# the application proxied, static files served from static_root, media files served only to
# logged-in users (`auth_request` against InvenTree's `/auth/`, which answers 200 or 403).
{ config, lib, ... }:
let
  cfg = config.services.inventree;
  settings = cfg.internal.settings;

  upstream =
    if lib.hasPrefix "unix:" cfg.serverBind then
      cfg.serverBind
    else if cfg.bindIp == "0.0.0.0" then
      "127.0.0.1:${toString cfg.bindPort}"
    else if cfg.bindIp == "::" then
      "[::1]:${toString cfg.bindPort}"
    else
      cfg.serverBind;
in
{
  config = lib.mkIf (cfg.enable && cfg.nginx.enable) {
    services.nginx = {
      enable = true;
      upstreams.inventree.servers.${upstream} = { };
      virtualHosts.${cfg.nginx.hostName} = {
        locations = {
          "/" = {
            proxyPass = "http://inventree";
            recommendedProxySettings = true;
            extraConfig = ''
              client_max_body_size 100M;
              proxy_buffering off;
              proxy_request_buffering off;
              proxy_redirect off;
            '';
          };

          "/static/" = {
            alias = "${settings.static_root}/";
            extraConfig = ''
              expires 30d;
              add_header Cache-Control "public";
            '';
          };

          "/media/" = {
            alias = "${settings.media_root}/";
            extraConfig = ''
              auth_request /_inventree_auth;
              add_header Content-Disposition "attachment";
            '';
          };

          # A private name, so it does not shadow InvenTree's own /auth/... pages.
          "= /_inventree_auth" = {
            proxyPass = "http://inventree/auth/";
            recommendedProxySettings = true;
            extraConfig = ''
              internal;
              proxy_pass_request_body off;
              proxy_set_header Content-Length "";
              proxy_set_header X-Original-URI $request_uri;
            '';
          };
        };
      };
    };

    # nginx reads static and media files (group-readable) and reaches a unix socket.
    systemd.services.nginx.serviceConfig.SupplementaryGroups = [ cfg.group ];
  };
}
