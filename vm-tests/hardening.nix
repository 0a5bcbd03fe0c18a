# Live `systemd-analyze security` of the running units: every InvenTree service stays at or below
# the exposure the eval tier checks offline (docs/ARCHITECTURE.md: <= 1.5), and still works.
{ inventree, ... }:
let
  maxExposure = 1.5;
in
{
  nodes.machine = {
    services.inventree.backup.enable = true;
  };

  testScript =
    { nodes, ... }:
    let
      cfg = nodes.machine.services.inventree;
    in
    inventree.testScript ''
      start_all()
      wait_for_inventree(machine)
      assert_healthy(machine)

      with subtest("every InvenTree unit is hardened"):
          scores = {}
          for unit in INVENTREE_UNITS + ["inventree-backup.service"]:
              machine.log(machine.succeed(f"systemd-analyze security --no-pager {unit} 2>&1"))
              scores[unit] = exposure(machine, unit)
          machine.log(f"exposure: {scores}")
          too_exposed = {unit: score for unit, score in scores.items() if score > ${toString maxExposure}}
          assert not too_exposed, f"exposure above ${toString maxExposure}: {too_exposed}"

      with subtest("in the server's mount namespace only the data dir is writable"):
          pid = unit_property(machine, "inventree-server.service", "MainPID")
          assert pid != "0", "inventree-server has no main process"
          enter = f"nsenter --target {pid} --mount --"
          machine.fail(f"{enter} touch /etc/inventree-hardening-probe")
          machine.fail(f"{enter} touch /root/inventree-hardening-probe")
          machine.succeed(f"{enter} touch ${cfg.dataDir}/.hardening-probe")
          machine.succeed("rm ${cfg.dataDir}/.hardening-probe")

      with subtest("the hardened services still work"):
          assert_healthy(machine)
    '';
}
