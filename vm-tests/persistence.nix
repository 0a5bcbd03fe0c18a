# Data survives a restart of the services and a reboot of the machine, and neither re-runs
# migrations (the setup state gates them).
{ inventree, ... }:
{
  nodes.machine = { };

  testScript = inventree.testScript ''
    start_all()
    wait_for_inventree(machine)
    assert_healthy(machine)
    token = api_token(machine)
    create_part(machine, token, "vm-persistent-part")

    with subtest("restarting inventree.target keeps data and skips migrations"):
        machine.succeed("systemctl restart inventree-setup.service inventree.target")
        wait_for_inventree(machine)
        assert_setup_did_not_migrate(machine)
        assert_healthy(machine)
        assert_part_present(machine, api_token(machine), "vm-persistent-part")

    with subtest("a reboot keeps data, brings everything back and skips migrations"):
        machine.reboot()
        wait_for_inventree(machine)
        assert_setup_did_not_migrate(machine)
        assert_healthy(machine)
        assert_part_present(machine, api_token(machine), "vm-persistent-part")

    with subtest("a crash (power loss) keeps committed data"):
        machine.crash()
        machine.start()
        wait_for_inventree(machine)
        assert_healthy(machine)
        assert_part_present(machine, api_token(machine), "vm-persistent-part")
  '';
}
