# The worker is killed: the probe - which judges the worker by doing work, never by the
# `worker_running` flag - reports it dead; systemd restarts it (Restart=on-failure); work queued
# while it was dead completes afterwards, and the probe is healthy again.
{ lib, inventree, ... }:
{
  nodes.machine = {
    # Widen the window between the kill and the restart so the test can queue work while no worker
    # runs; everything else about the unit stays as the module made it.
    systemd.services.inventree-cluster.serviceConfig.RestartSec = lib.mkForce "45s";
  };

  testScript = inventree.testScript ''
    start_all()
    wait_for_inventree(machine)
    assert_healthy(machine)
    token = api_token(machine)
    assembly = create_part(machine, token, "vm-worker-assembly", assembly=True)

    with subtest("a queued task completes while the worker runs"):
        task_id = enqueue_bom_validation(machine, token, assembly)
        assert task_id, "task ran inline: InvenTree saw no worker"
        wait_for_task(machine, token, task_id, timeout=60)

    with subtest("SIGKILL of the worker: work queued meanwhile waits"):
        restarts_before = int(unit_property(machine, "inventree-cluster.service", "NRestarts"))
        machine.succeed("systemctl kill --signal=SIGKILL inventree-cluster.service")
        machine.wait_until_succeeds(
            "systemctl show --property=ActiveState --value inventree-cluster.service | grep -qx activating",
            timeout=30,
        )
        queued = enqueue_bom_validation(machine, token, assembly)
        assert queued, "task ran inline although a worker was seen recently"
        time.sleep(5)
        state = task_state(machine, token, queued)
        assert not state.get("complete"), f"task completed with no worker running: {state}"

    with subtest("the probe says the worker is dead, although /api/ may still claim it runs"):
        status, report = probe(machine, extra=["--task-timeout", "8"])
        assert status == 1, f"probe exit {status} with the worker dead: {report}"
        outcome = report.get("worker", {}).get("outcome")
        assert outcome in ("not_completed", "no_worker"), f"worker outcome {outcome!r}: {report}"
        assert unit_property(machine, "inventree-cluster.service", "SubState") == "auto-restart", (
            "the worker came back before the probe finished; widen RestartSec"
        )

    with subtest("systemd restarts the worker and the queued task completes"):
        machine.wait_for_unit("inventree-cluster.service", timeout=120)
        restarts_after = int(unit_property(machine, "inventree-cluster.service", "NRestarts"))
        assert restarts_after == restarts_before + 1, f"NRestarts {restarts_before} -> {restarts_after}"
        wait_for_task(machine, token, queued, timeout=120)
        assert_healthy(machine)

    with subtest("the server was not disturbed"):
        assert unit_property(machine, "inventree-server.service", "NRestarts") == "0"
  '';
}
