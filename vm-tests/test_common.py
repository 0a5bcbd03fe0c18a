"""Unit tests of the VM test helpers (common.py), without a VM: a fake machine answers the shell
commands the helpers send with recorded or scripted output. Run by `cargo test` (tests/vm.rs) with
any python3: `python3 -m unittest vm-tests/test_common.py`.
"""

import json
import re
import unittest
import unittest.mock
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
RECORDED = HERE.parent / "tests" / "data" / "vm"

CONSTANTS = {
    "ADMIN_USER": "admin",
    "ADMIN_PASSWORD_FILE": "/run/secrets/inventree-admin-password",
    "SENTINELS": ["vm-sentinel-admin-9f1c", "vm-sentinel-staff-42aa"],
    "HARNESS": "/nix/store/x-inventree-harness/bin/inventree-harness",
}


def load_common() -> dict[str, Any]:
    """common.py as the test driver runs it: after lib.nix's constants, with BaseMachine defined."""
    namespace: dict[str, Any] = {"BaseMachine": object, **CONSTANTS}
    exec(compile((HERE / "common.py").read_text(), "common.py", "exec"), namespace)
    return namespace


class FakeMachine:
    """Answers commands by the first matching (pattern, (status, output)) rule; records them."""

    def __init__(self, rules: list[tuple[str, tuple[int, str] | Callable[[str], tuple[int, str]]]]):
        self.rules = rules
        self.commands: list[str] = []
        self.logged: list[str] = []

    def _answer(self, command: str) -> tuple[int, str]:
        self.commands.append(command)
        for pattern, answer in self.rules:
            if re.search(pattern, command):
                return answer(command) if callable(answer) else answer
        raise AssertionError(f"unexpected command: {command}")

    def execute(self, command: str) -> tuple[int, str]:
        return self._answer(command)

    def succeed(self, *commands: str, timeout: int | None = None) -> str:
        output = ""
        for command in commands:
            status, out = self._answer(command)
            if status != 0:
                raise Exception(f"command `{command}` failed (exit code {status})")
            output += out
        return output

    def fail(self, *commands: str, timeout: int | None = None) -> str:
        for command in commands:
            status, out = self._answer(command)
            if status == 0:
                raise Exception(f"command `{command}` unexpectedly succeeded")
        return ""

    def wait_until_succeeds(self, command: str, timeout: int = 900) -> str:
        return self.succeed(command)

    def wait_for_unit(self, unit: str, timeout: int = 900) -> None:
        self.commands.append(f"wait_for_unit {unit}")

    def log(self, message: str) -> None:
        self.logged.append(message)


C = load_common()


class Exposure(unittest.TestCase):
    def test_reads_the_overall_score_of_recorded_systemd_analyze_output(self) -> None:
        recorded = (RECORDED / "systemd-analyze-security.txt").read_text()
        machine = FakeMachine([(r"systemd-analyze security", (0, recorded))])
        self.assertEqual(C["exposure"](machine, "inventree-server.service"), 1.2)

    def test_output_without_a_score_fails_naming_the_unit(self) -> None:
        machine = FakeMachine([(r"systemd-analyze security", (0, "Unit x.service not found.\n"))])
        with self.assertRaisesRegex(AssertionError, "inventree-cluster.service"):
            C["exposure"](machine, "inventree-cluster.service")


class Api(unittest.TestCase):
    def test_returns_the_json_body(self) -> None:
        machine = FakeMachine([(r"curl", (0, '{"pk": 7}\n201'))])
        self.assertEqual(C["api"](machine, "tok", "POST", "/api/part/", {"name": "x"}), {"pk": 7})
        self.assertIn("Authorization: Token tok", machine.commands[0])
        self.assertIn('{"name": "x"}', machine.commands[0])

    def test_an_http_error_names_the_call_and_the_body(self) -> None:
        machine = FakeMachine([(r"curl", (0, '{"detail": "nope"}\n403'))])
        with self.assertRaisesRegex(AssertionError, r"GET /api/user/ answered HTTP 403: .*nope"):
            C["api"](machine, "tok", "GET", "/api/user/")

    def test_part_names_of_a_plain_or_paginated_list(self) -> None:
        plain = FakeMachine([(r"curl", (0, '[{"name": "a"}, {"name": "b"}]\n200'))])
        self.assertEqual(C["part_names"](plain, "tok"), ["a", "b"])
        paginated = FakeMachine([(r"curl", (0, '{"count": 1, "results": [{"name": "c"}]}\n200'))])
        self.assertEqual(C["part_names"](paginated, "tok"), ["c"])


class Printing(unittest.TestCase):
    def test_prints_with_the_first_template_waits_for_the_worker_and_reads_the_pdf(self) -> None:
        outputs = iter(['{"pk": 4, "complete": false, "output": null, "errors": null}\n201',
                        '{"pk": 4, "complete": true, "output": "/media/data_output/label.pdf", "errors": null}\n200'])
        machine = FakeMachine([
            (r"/api/label/template/", (0, '[{"pk": 2, "name": "Part label"}]\n200')),
            (r"/api/label/print/|/api/data-output/4/", lambda _: (0, next(outputs))),
            (r"pypdf", (0, "Printed\nresistor\n")),
        ])
        with unittest.mock.patch("time.sleep"):
            text = C["printed_pdf_text"](machine, "tok", "label", "part", 9, "/py/bin/python", "/var/lib/inventree/media")
        self.assertEqual(C["unspaced"](text), "Printedresistor")
        self.assertIn('"template": 2, "items": [9]', machine.commands[1])
        self.assertTrue(machine.commands[-1].endswith("/var/lib/inventree/media/data_output/label.pdf"))

    def test_a_failed_print_names_the_errors(self) -> None:
        machine = FakeMachine([
            (r"/api/report/template/", (0, '[{"pk": 5}]\n200')),
            (r"/api/report/print/", (0, '{"pk": 1, "complete": false, "output": null, "errors": {"error": "boom"}}\n201')),
        ])
        with self.assertRaisesRegex(AssertionError, "printing the report failed: .*boom"):
            C["printed_pdf_text"](machine, "tok", "report", "stockitem", 1, "/py", "/media")


class Probe(unittest.TestCase):
    def test_passes_credentials_by_file_and_parses_the_report(self) -> None:
        report = {"verdict": {"status": "healthy"}}
        machine = FakeMachine([(r"inventree-harness probe", (0, json.dumps(report)))])
        status, parsed = C["probe"](machine, extra=["--expect-version", "1.3.5"])
        self.assertEqual((status, parsed), (0, report))
        command = machine.commands[0]
        self.assertIn("--password-file /run/secrets/inventree-admin-password", command)
        self.assertIn("--expect-version 1.3.5", command)
        self.assertTrue(command.endswith("http://localhost:8000"), command)

    def test_output_that_is_not_json_is_kept_for_the_message(self) -> None:
        machine = FakeMachine([(r"probe", (2, "error: connection refused"))])
        self.assertEqual(C["probe"](machine), (2, {"unparsed_output": "error: connection refused"}))


class Tasks(unittest.TestCase):
    def test_waits_until_the_task_is_complete(self) -> None:
        states = iter(['{"complete": false}\n200', '{"complete": true, "success": true}\n200'])
        machine = FakeMachine([(r"background-task", lambda _c: (0, next(states)))])
        with unittest.mock.patch.object(C["time"], "sleep"):
            self.assertTrue(C["wait_for_task"](machine, "tok", "abc", timeout=30)["success"])

    def test_a_failed_task_fails_the_test(self) -> None:
        machine = FakeMachine([(r"background-task", (0, '{"complete": true, "success": false}\n200'))])
        with self.assertRaisesRegex(AssertionError, "completed but failed"):
            C["wait_for_task"](machine, "tok", "abc", timeout=30)


class Setup(unittest.TestCase):
    def test_reads_the_log_of_the_last_setup_run(self) -> None:
        machine = FakeMachine(
            [
                (r"InvocationID", (0, "0123abcd\n")),
                (r"_SYSTEMD_INVOCATION_ID=0123abcd", (0, "user admin: unchanged\n")),
            ]
        )
        C["assert_setup_did_not_migrate"](machine)

    def test_applied_migrations_fail_the_no_migration_check(self) -> None:
        machine = FakeMachine(
            [
                (r"InvocationID", (0, "0123abcd\n")),
                (r"journalctl", (0, "  Applying part.0001_initial... OK\n")),
            ]
        )
        with self.assertRaisesRegex(AssertionError, "re-applied migrations"):
            C["assert_setup_did_not_migrate"](machine)


class Secrets(unittest.TestCase):
    def test_every_sentinel_is_searched_where_secrets_must_not_be(self) -> None:
        machine = FakeMachine([(r"grep", (1, ""))])
        C["assert_no_secret_leak"](machine, "/var/lib/inventree")
        for sentinel in CONSTANTS["SENTINELS"]:
            searched = [c for c in machine.commands if sentinel in c]
            self.assertEqual(len(searched), 3, searched)
        self.assertTrue(any("/var/lib/inventree/config.yaml" in c for c in machine.commands))

    def test_a_found_sentinel_fails(self) -> None:
        machine = FakeMachine([(r"journalctl", (0, "vm-sentinel-admin-9f1c\n")), (r"grep", (1, ""))])
        with self.assertRaises(Exception):
            C["assert_no_secret_leak"](machine, "/var/lib/inventree")


if __name__ == "__main__":
    unittest.main()
