# Backups on a timer: the timer itself writes a backup (it fires every minute here), retention keeps
# `backup.keep` of them, a backup stops server and worker and starts again only what ran before,
# and `inventree-restore` brings deleted data back (re-running setup, starting InvenTree again).
{ inventree, ... }:
{
  nodes.machine = {
    services.inventree.backup = {
      enable = true;
      startAt = "*:0/1";
      keep = 2;
    };
  };

  testScript =
    { nodes, ... }:
    let
      cfg = nodes.machine.services.inventree;
      backupDir = cfg.backup.directory;
    in
    inventree.testScript ''
      start_all()
      wait_for_inventree(machine)
      assert_healthy(machine)
      token = api_token(machine)
      part = create_part(machine, token, "vm-backup-part")
      created_at = machine.succeed("date +%s").strip()

      with subtest("the timer writes a backup taken after the part was created"):
          machine.succeed("systemctl is-active inventree-backup.timer")
          machine.wait_until_succeeds(
              f"find ${backupDir} -type f -newermt @{created_at} | grep -q .", timeout=240
          )
          machine.succeed("systemctl stop inventree-backup.timer")
          machine.wait_until_succeeds("! systemctl is-active --quiet inventree-backup.service", timeout=120)
          assert unit_property(machine, "inventree-backup.service", "Result") == "success"
          machine.log(machine.succeed("ls -la ${backupDir}"))

      with subtest("retention keeps at most backup.keep backups of each kind"):
          for _ in range(3):
              machine.succeed("systemctl start inventree-backup.service")
          files = machine.succeed("find ${backupDir} -type f -printf '%f\\n'").split()
          # File names of InvenTree's backup templates: InvenTree-db-… and InvenTree-media-….
          database = [f for f in files if f.startswith("InvenTree-db-")]
          media = [f for f in files if f.startswith("InvenTree-media-")]
          assert 1 <= len(database) <= ${toString cfg.backup.keep}, f"database backups: {database}"
          assert len(media) <= ${toString cfg.backup.keep}, f"media backups: {media}"

      with subtest("a backup starts again what ran before, and leaves a stopped InvenTree stopped"):
          wait_for_inventree(machine)
          machine.succeed("systemctl stop inventree-cluster.service")
          machine.succeed("systemctl start inventree-backup.service")
          machine.wait_until_succeeds("! systemctl is-active --quiet inventree-backup.service", timeout=120)
          machine.succeed("systemctl is-active inventree-server.service")
          machine.fail("systemctl is-active inventree-cluster.service")
          machine.succeed("systemctl start inventree-cluster.service")
          wait_for_inventree(machine)

      with subtest("deleted data comes back with a restore"):
          api(machine, token, "PATCH", f"/api/part/{part}/", {"active": False})
          api(machine, token, "DELETE", f"/api/part/{part}/")
          assert "vm-backup-part" not in part_names(machine, token)
          machine.log(machine.succeed("inventree-restore 2>&1"))
          wait_for_inventree(machine)
          assert_healthy(machine)
          assert_part_present(machine, api_token(machine), "vm-backup-part")
    '';
}
