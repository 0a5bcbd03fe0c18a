# openFirewall: the web ports of the module's nginx, or gunicorn's port when it serves directly.
{ config, lib, ... }:
let
  cfg = config.services.inventree;
  servesTcp = !(lib.hasPrefix "unix:" cfg.serverBind);
  # The port gunicorn really binds: the one at the end of serverBind.
  bindPort =
    let
      m = builtins.match ".*:([0-9]+)" cfg.serverBind;
    in
    if m == null then cfg.bindPort else lib.toInt (builtins.head m);
in
{
  config = lib.mkIf (cfg.enable && cfg.openFirewall) {
    networking.firewall.allowedTCPPorts =
      if cfg.nginx.enable then
        [
          80
          443
        ]
      else
        lib.optional servesTcp bindPort;
  };
}
