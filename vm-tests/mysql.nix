# MySQL/MariaDB created locally (unix_socket auth). Proves migrations, the API and the worker on
# MariaDB, and that data written through the API is in the MariaDB database.
{ inventree, ... }:
{
  nodes.machine = {
    services.inventree.database = {
      type = "mysql";
      createLocally = true;
    };
  };

  testScript =
    { nodes, ... }:
    let
      cfg = nodes.machine.services.inventree;
    in
    inventree.testScript ''
      start_all()
      machine.wait_for_unit("mysql.service")

      with subtest("InvenTree runs on the local MariaDB"):
          wait_for_inventree(machine)
          assert_healthy(machine)

      with subtest("a part written through the API is stored in MariaDB"):
          token = api_token(machine)
          create_part(machine, token, "vm-mysql-part")
          rows = machine.succeed(
              "mysql -N -B ${cfg.database.name} -e \"select count(*) from part_part where name = 'vm-mysql-part'\""
          )
          assert rows.strip() == "1", f"part not found in MariaDB: {rows!r}"
    '';
}
