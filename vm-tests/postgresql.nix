# PostgreSQL created locally (peer auth over the unix socket) with declared users of each kind and
# a secret key from a file. Every declared user can log in with exactly its flags; a user created
# through the API survives a re-run of setup (undeclared users are kept by default); a second setup
# run changes nothing.
{ inventree, ... }:
{
  nodes.machine = {
    services.inventree = {
      database = {
        type = "postgresql";
        createLocally = true;
      };
      secretKeyFile = inventree.secrets.secretKey.path;
      users = {
        staff = {
          email = "staff@example.org";
          is_staff = true;
          password_file = inventree.secrets.staffPassword.path;
        };
        reader = {
          email = "reader@example.org";
          password_file = inventree.secrets.readerPassword.path;
        };
      };
    };
  };

  testScript =
    { nodes, ... }:
    let
      cfg = nodes.machine.services.inventree;
    in
    inventree.testScript ''
      start_all()
      machine.wait_for_unit("postgresql.service")

      with subtest("InvenTree runs on the local PostgreSQL"):
          wait_for_inventree(machine)
          assert_healthy(machine)
          tables = machine.succeed(
              "runuser -u postgres -- psql -tA -d ${cfg.database.name} -c "
              "\"select count(*) from information_schema.tables where table_name = 'part_part'\""
          )
          assert tables.strip() == "1", f"part_part is not in PostgreSQL: {tables!r}"

      with subtest("every declared user logs in with its declared flags"):
          expected = {
              "admin": (True, True, ADMIN_PASSWORD_FILE),
              "staff": (False, True, "${inventree.secrets.staffPassword.path}"),
              "reader": (False, False, "${inventree.secrets.readerPassword.path}"),
          }
          for user, (superuser, staff, password_file) in expected.items():
              me = api(machine, api_token(machine, user=user, password_file=password_file), "GET", "/api/user/me/")
              assert me["username"] == user, me
              assert bool(me.get("is_superuser")) == superuser, f"{user}: is_superuser {me}"
              assert bool(me.get("is_staff")) == staff, f"{user}: is_staff {me}"

      with subtest("a wrong password is refused"):
          machine.fail("curl -fsS -u reader:wrong http://localhost:8000/api/user/token/?name=x")

      with subtest("an undeclared user survives setup, and a second setup run changes nothing"):
          token = api_token(machine)
          api(machine, token, "POST", "/api/user/", {"username": "undeclared", "email": "u@example.org"})
          machine.succeed("systemctl restart inventree-setup.service")
          # Server and worker only want setup (docs/nixos.md, "Recovery"): they keep running.
          wait_for_inventree(machine)
          setup_log = last_setup_log(machine)
          machine.log(setup_log)
          # One line per declared user, `user NAME: OUTCOME` (docs/ARCHITECTURE.md).
          for user in ["admin", "staff", "reader"]:
              lines = [line for line in setup_log.splitlines() if f"user {user}: " in line]
              assert lines and all(line.endswith(f"user {user}: unchanged") for line in lines), (
                  f"{user} changed on re-run:\n{setup_log}"
              )
          assert_setup_did_not_migrate(machine)
          users = api(machine, token, "GET", "/api/user/")
          users = users.get("results", users) if isinstance(users, dict) else users
          assert "undeclared" in [u["username"] for u in users], users

      with subtest("no secret in unit files, config.yaml, unit environment or journal"):
          assert_no_secret_leak(machine, "${cfg.dataDir}")
    '';
}
