# A package change as an upgrade brings it: a `specialisation` whose InvenTree source is a different
# store path, switched to on the running machine (as in nixpkgs' netbox-upgrade test). Setup sees
# the changed source in its recorded state and re-checks migrations before server and worker start
# again; data survives; switching back works the same way.
{ inventree, ... }:
{
  nodes.machine =
    { config, lib, ... }:
    let
      current = config.services.inventree.packages;
    in
    {
      specialisation.upgrade.configuration.services.inventree.packages = lib.mkForce (
        current.overrideScope (
          _final: prev: {
            src = prev.src.overrideAttrs (old: {
              # A new store path with the same code stands in for a newer release.
              postInstall = (old.postInstall or "") + ''
                echo "specialisation upgrade" > $out/.nixos-inventree-vm-upgrade
              '';
            });
          }
        )
      );
    };

  testScript =
    { nodes, ... }:
    let
      cfg = nodes.machine.services.inventree;
      toplevel = nodes.machine.system.build.toplevel;
      upgradedSrc = nodes.machine.specialisation.upgrade.configuration.services.inventree.packages.src;
    in
    inventree.testScript ''
      start_all()
      wait_for_inventree(machine)
      assert_healthy(machine)
      token = api_token(machine)
      create_part(machine, token, "vm-upgrade-part")
      state_file = "${cfg.dataDir}/.setup-state.json"

      with subtest("switching to the upgraded package re-runs setup against the new source"):
          machine.succeed("${toplevel}/specialisation/upgrade/bin/switch-to-configuration test >&2")
          wait_for_inventree(machine)
          machine.succeed(f"grep -qF ${upgradedSrc} {state_file}")
          assert_healthy(machine)
          assert_part_present(machine, api_token(machine), "vm-upgrade-part")

      with subtest("switching back works the same way"):
          machine.succeed("${toplevel}/bin/switch-to-configuration test >&2")
          wait_for_inventree(machine)
          machine.fail(f"grep -qF ${upgradedSrc} {state_file}")
          assert_healthy(machine)
          assert_part_present(machine, api_token(machine), "vm-upgrade-part")
    '';
}
