# The web UI, checked in a real browser inside the VM, behind the module's nginx virtual host with
# gunicorn on a unix socket: `inventree-harness browser` (the same check the host tier and live
# instances get) drives Chromium through chromedriver: the login page renders, the declared admin
# logs in, the dashboard and the parts list load, and a part created through the API appears in the
# list. Screenshots of every step are copied out of the VM into the test's output.
{
  inventree,
  lib,
  pkgs,
  ...
}:
let
  chromium = lib.getExe pkgs.chromium;
  chromedriver = lib.getExe pkgs.chromedriver;
  runDir = "/tmp/inventree-browser-check";
in
{
  nodes.machine = {
    # InvenTree's gunicorn workers and a headless Chromium side by side.
    virtualisation.memorySize = lib.mkForce 3072;

    environment.systemPackages = [
      pkgs.chromium
      pkgs.chromedriver
    ];

    # Chromium renders text; without any font the screenshots would show empty boxes.
    fonts.packages = [ pkgs.dejavu_fonts ];

    services.inventree = {
      siteUrl = "http://localhost";
      serverBind = "unix:/run/inventree/inventree.sock";
      nginx = {
        enable = true;
        hostName = "localhost";
      };
    };
  };

  testScript = inventree.testScript ''
    url = "http://localhost"
    run_dir = "${runDir}"
    start_all()
    machine.wait_for_unit("nginx.service")
    wait_for_inventree(machine, url)
    assert_healthy(machine, url)

    def browser_check(run_dir: str) -> tuple[int, str]:
        command = (
            f"{q(HARNESS)} browser {q(url)} --user {q(ADMIN_USER)} "
            f"--password-file {q(ADMIN_PASSWORD_FILE)} --run-dir {q(run_dir)} "
            "--chromium ${chromium} --chromedriver ${chromedriver} --step-timeout 120"
        )
        # The check bounds every step itself; the outer timeout only guards the test driver.
        status, output = machine.execute(f"timeout 900 {command} 2>&1")
        machine.log(f"browser check: exit {status}:\n{output}")
        machine.copy_from_vm(run_dir, "")
        return status, output

    with subtest("the UI works in a browser through nginx and the unix socket"):
        status, output = browser_check(run_dir)
        assert status == 0, f"browser check failed (exit {status}):\n{output}"
        for shot in [
            "01-login-page.png",
            "02-login.png",
            "03-dashboard.png",
            "05-parts-list.png",
            "06-part-in-list.png",
        ]:
            machine.succeed(f"test -s {q(run_dir + '/' + shot)}")

    with subtest("with the server stopped, the check fails naming the login page"):
        # nginx still serves static files, but the app's page itself comes from InvenTree: nginx
        # answers 502, and the check must say which step broke rather than hang or pass.
        machine.succeed("systemctl stop inventree-server.service")
        status, output = browser_check(run_dir + "-stopped")
        assert status == 1, f"expected a failed check (exit 1), got {status}:\n{output}"
        assert "FAILED at step login-page " in output, f"the failing step is not named:\n{output}"
        machine.succeed("systemctl start inventree.target")
        wait_for_inventree(machine, url)
  '';
}
