# Shared helpers of the nixos-inventree VM tests.
#
# lib.nix prepends the constants ADMIN_USER, ADMIN_PASSWORD_FILE, SENTINELS and HARNESS, then this
# file, to every scenario's testScript. The health verdict always comes from the harness probe
# (`inventree-harness probe`), the same code that checks host-tier and live instances; the helpers
# here only create data and read back what the scenarios assert on.
import json
import re
import shlex
import time
import urllib.parse
from typing import Any

# The host of siteUrl (lib.nix), so InvenTree sees the address it is configured for.
DEFAULT_URL = "http://localhost:8000"
INVENTREE_UNITS = ["inventree-setup.service", "inventree-server.service", "inventree-cluster.service"]
EXPOSURE_LINE = re.compile(r"Overall exposure level for (\S+): ([0-9]+(?:\.[0-9]+)?)")


def q(value: str) -> str:
    return shlex.quote(value)


def password_of(password_file: str) -> str:
    # Read inside the VM by the shell: the test script never holds the secret itself.
    return f'"$(cat {q(password_file)})"'


def wait_for_inventree(machine: BaseMachine, url: str = DEFAULT_URL, timeout: int = 900) -> None:
    """Setup finished, server and worker running, and the API answering at `url`."""
    for unit in INVENTREE_UNITS:
        machine.wait_for_unit(unit, timeout=timeout)
    machine.wait_until_succeeds(f"curl -fsS -o /dev/null {q(url + '/api/')}", timeout=timeout)


def probe_command(url: str, user: str, password_file: str, extra: list[str] | None = None) -> str:
    args = ["--json", "--user", user, "--password-file", password_file, *(extra or []), url]
    return f"{q(HARNESS)} probe " + " ".join(q(a) for a in args)


def probe(
    machine: BaseMachine,
    url: str = DEFAULT_URL,
    user: str = ADMIN_USER,
    password_file: str = ADMIN_PASSWORD_FILE,
    extra: list[str] | None = None,
) -> tuple[int, Any]:
    """Run the harness probe in the VM: (exit status, its JSON report).

    Exit status: 0 healthy, 1 unhealthy, 2 unreachable (docs/probe.md). `extra` are further probe
    flags, e.g. ["--expect-version", "1.3.5"] or ["--task-timeout", "8"].
    """
    status, output = machine.execute(probe_command(url, user, password_file, extra))
    try:
        report: Any = json.loads(output)
    except json.JSONDecodeError:
        report = {"unparsed_output": output}
    machine.log(f"probe {url} as {user}: exit {status}: {output.strip()}")
    return status, report


def assert_healthy(
    machine: BaseMachine,
    url: str = DEFAULT_URL,
    user: str = ADMIN_USER,
    password_file: str = ADMIN_PASSWORD_FILE,
    timeout: int = 300,
    extra: list[str] | None = None,
) -> Any:
    """Wait (bounded) until the probe says healthy, and return its report."""
    machine.wait_until_succeeds(probe_command(url, user, password_file, extra), timeout=timeout)
    status, report = probe(machine, url, user, password_file, extra)
    assert status == 0, f"probe turned unhealthy again (exit {status}): {report}"
    return report


def api_token(
    machine: BaseMachine,
    url: str = DEFAULT_URL,
    user: str = ADMIN_USER,
    password_file: str = ADMIN_PASSWORD_FILE,
) -> str:
    """A token for `user`, by basic auth, as InvenTree's own API client obtains one."""
    output = machine.succeed(
        f"curl -fsS -u {q(user)}:{password_of(password_file)} {q(url + '/api/user/token/?name=vm-test')}"
    )
    token = json.loads(output).get("token", "")
    assert token, f"no token for {user}: {output}"
    return str(token)


def http_status(machine: BaseMachine, url: str, headers: list[str] | None = None) -> int:
    """The HTTP status `url` answers with (redirects not followed)."""
    header_args = " ".join(f"-H {q(h)}" for h in headers or [])
    output = machine.succeed(f"curl -sS -o /dev/null -w '%{{http_code}}' {header_args} {q(url)}")
    return int(output.strip())


def api(
    machine: BaseMachine,
    token: str,
    method: str,
    path: str,
    data: Any = None,
    url: str = DEFAULT_URL,
) -> Any:
    """Call the REST API with a token; fail the test on an HTTP error, naming the call."""
    parts = [
        "curl",
        "-sS",
        "-X",
        method,
        "-H",
        f"Authorization: Token {token}",
        "-H",
        "Accept: application/json",
        "-w",
        "\\n%{http_code}",
    ]
    if data is not None:
        parts += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(data)]
    parts.append(url + path)
    output = machine.succeed(" ".join(q(p) for p in parts))
    body, _, status = output.rstrip("\n").rpartition("\n")
    code = int(status)
    assert code < 400, f"{method} {path} answered HTTP {code}: {body[:2000]}"
    return json.loads(body) if body.strip() else None


def create_part(
    machine: BaseMachine, token: str, name: str, url: str = DEFAULT_URL, assembly: bool = False
) -> int:
    part = api(
        machine,
        token,
        "POST",
        "/api/part/",
        {
            "name": name,
            "description": "created by a nixos-inventree VM test",
            "active": True,
            "assembly": assembly,
            "component": True,
        },
        url=url,
    )
    return int(part["pk"])


PDF_TEXT = "import sys, pypdf; print(chr(10).join(p.extract_text() or '' for p in pypdf.PdfReader(sys.argv[1]).pages))"


def printed_pdf_text(
    machine: BaseMachine,
    token: str,
    kind: str,
    model_type: str,
    item_pk: int,
    python: str,
    media_root: str,
    url: str = DEFAULT_URL,
    timeout: int = 180,
) -> str:
    """Print one item with the first enabled `kind` ("label" or "report") template for
    `model_type`, as the web UI does; wait for the worker to render it; the PDF's text (read with
    pypdf from InvenTree's own Python)."""
    templates = api(machine, token, "GET", f"/api/{kind}/template/?model_type={model_type}&enabled=true", url=url)
    templates = templates["results"] if isinstance(templates, dict) else templates
    assert templates, f"no enabled {kind} template for {model_type}: InvenTree's defaults are missing"
    body = {"template": templates[0]["pk"], "items": [item_pk]}
    output = api(machine, token, "POST", f"/api/{kind}/print/", body, url=url)
    deadline = time.monotonic() + timeout
    while not output["complete"]:
        assert not output.get("errors"), f"printing the {kind} failed: {output['errors']}"
        assert time.monotonic() < deadline, f"the {kind} was not rendered within {timeout} s: {output}"
        time.sleep(1)
        output = api(machine, token, "GET", f"/api/data-output/{output['pk']}/", url=url)
    assert output.get("output"), f"the {kind} output is complete without a file: {output}"
    path = media_root.rstrip("/") + "/" + output["output"].split("/media/", 1)[1]
    return machine.succeed(f"{q(python)} -c {q(PDF_TEXT)} {q(path)}")


def unspaced(text: str) -> str:
    """Text without whitespace: labels break names across lines."""
    return "".join(text.split())


def part_names(machine: BaseMachine, token: str, url: str = DEFAULT_URL) -> list[str]:
    parts = api(machine, token, "GET", "/api/part/", url=url)
    # Without `limit`, InvenTree answers a plain list; with it, a paginated object.
    if isinstance(parts, dict):
        parts = parts.get("results", [])
    return [str(p["name"]) for p in parts]


def assert_part_present(machine: BaseMachine, token: str, name: str, url: str = DEFAULT_URL) -> None:
    names = part_names(machine, token, url)
    assert name in names, f"part {name!r} is gone; parts now: {names}"


def enqueue_bom_validation(machine: BaseMachine, token: str, part_pk: int, url: str = DEFAULT_URL) -> str:
    """Queue work for the worker; returns the task id ('' when InvenTree ran it inline)."""
    task = api(machine, token, "PUT", f"/api/part/{part_pk}/bom-validate/", {"valid": True}, url=url)
    return str(task.get("task_id", ""))


def task_state(machine: BaseMachine, token: str, task_id: str, url: str = DEFAULT_URL) -> Any:
    return api(machine, token, "GET", f"/api/background-task/{urllib.parse.quote(task_id)}/", url=url)


def wait_for_task(
    machine: BaseMachine, token: str, task_id: str, url: str = DEFAULT_URL, timeout: int = 180
) -> Any:
    """Poll a queued task until complete; fail naming the task and its last state."""
    deadline = time.monotonic() + timeout
    state: Any = None
    while time.monotonic() < deadline:
        state = task_state(machine, token, task_id, url)
        if state.get("complete"):
            assert state.get("success"), f"task {task_id} completed but failed: {state}"
            return state
        time.sleep(2)
    raise AssertionError(f"task {task_id} not complete after {timeout}s; last state: {state}")


def unit_property(machine: BaseMachine, unit: str, prop: str) -> str:
    return machine.succeed(f"systemctl show --property={q(prop)} --value {q(unit)}").strip()


def last_setup_log(machine: BaseMachine) -> str:
    """Everything the most recent run of inventree-setup printed."""
    invocation = unit_property(machine, "inventree-setup.service", "InvocationID")
    assert invocation, "inventree-setup has not run"
    return machine.succeed(f"journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID={q(invocation)}")


def assert_setup_did_not_migrate(machine: BaseMachine) -> None:
    setup_log = last_setup_log(machine)
    assert "Applying " not in setup_log, f"setup re-applied migrations on an unchanged system:\n{setup_log}"


def exposure(machine: BaseMachine, unit: str) -> float:
    """The live `systemd-analyze security` exposure score of a unit (0 = locked down, 10 = none)."""
    output = machine.succeed(f"systemd-analyze security --no-pager {q(unit)} 2>&1")
    match = EXPOSURE_LINE.search(output)
    assert match, f"no exposure line in systemd-analyze output for {unit}:\n{output}"
    return float(match.group(2))


def assert_no_secret_leak(machine: BaseMachine, data_dir: str) -> None:
    """No sentinel secret in unit files, the installed config, unit environments or the journal."""
    config_file = f"{data_dir}/config.yaml"
    for sentinel in SENTINELS:
        machine.fail(f"grep -RlF {q(sentinel)} /etc/systemd/system/inventree* {q(config_file)}")
        machine.fail(f"systemctl show inventree-server inventree-cluster | grep -F {q(sentinel)}")
        machine.fail(f"journalctl --no-pager -o cat | grep -F {q(sentinel)}")
