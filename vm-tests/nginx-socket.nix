# gunicorn on a unix socket behind the module's nginx virtual host. nginx serves static files itself
# (they load even while InvenTree is stopped), proxies the API through the socket, and serves media
# only to authenticated users (auth_request to InvenTree's /auth/).
{ inventree, ... }:
{
  nodes.machine = {
    services.inventree = {
      siteUrl = "http://localhost";
      serverBind = "unix:/run/inventree/inventree.sock";
      nginx = {
        enable = true;
        hostName = "localhost";
      };
    };
  };

  testScript =
    { nodes, ... }:
    let
      cfg = nodes.machine.services.inventree;
      mediaRoot = cfg.config.media_root;
      staticRoot = cfg.config.static_root;
    in
    inventree.testScript ''
      url = "http://localhost"
      start_all()
      machine.wait_for_unit("nginx.service")

      with subtest("gunicorn listens on the socket only, nginx proxies the API"):
          wait_for_inventree(machine, url)
          machine.succeed("test -S /run/inventree/inventree.sock")
          machine.fail("curl -fsS -o /dev/null http://127.0.0.1:8000/api/")
          assert_healthy(machine, url)

      with subtest("static files are served by nginx from static_root"):
          static_file = machine.succeed(
              "cd ${staticRoot} && find . -type f -name '*.css' | head -n1"
          ).strip().removeprefix("./")
          assert static_file, "no CSS file in static_root: static files were not deployed"
          assert http_status(machine, f"{url}/static/{static_file}") == 200

      with subtest("media needs a logged-in user"):
          machine.succeed(
              "install -d -m 0750 -o ${cfg.user} -g ${cfg.group} ${mediaRoot}/vm-test",
              "printf 'vm media' > ${mediaRoot}/vm-test/hello.txt",
              "chown ${cfg.user}:${cfg.group} ${mediaRoot}/vm-test/hello.txt",
          )
          anonymous = http_status(machine, f"{url}/media/vm-test/hello.txt")
          # InvenTree's /auth/ answers 401 to anonymous requests; nginx passes it on.
          assert anonymous in (401, 403), f"anonymous media request answered {anonymous}"
          token = api_token(machine, url)
          authorised = machine.succeed(
              f"curl -fsS -H {q('Authorization: Token ' + token)} {url}/media/vm-test/hello.txt"
          )
          assert authorised.strip() == "vm media", f"media served wrong content: {authorised!r}"

      with subtest("static files stay available while InvenTree is stopped; the API does not"):
          machine.succeed("systemctl stop inventree-server.service")
          assert http_status(machine, f"{url}/static/{static_file}") == 200
          assert http_status(machine, f"{url}/api/") == 502
          machine.succeed("systemctl start inventree.target")
          wait_for_inventree(machine, url)
          assert_healthy(machine, url)
    '';
}
