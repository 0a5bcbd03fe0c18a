import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

from inventree_runtime import __main__ as cli
from inventree_runtime import commands, database_wait, restore
from inventree_runtime.environment import Source

from .support import TempDirTestCase


class ArgvTest(TempDirTestCase):
    source = Source(Path("/src"))

    def test_server_runs_gunicorn_with_inventree_config_and_the_given_arguments(self):
        argv = commands.server_argv(self.source, ["--bind", "127.0.0.1:8000", "--workers", "2"])
        self.assertEqual(argv[1:3], ["-m", "gunicorn"])
        self.assertEqual(
            argv[3:],
            [
                "--config", "/src/src/backend/InvenTree/gunicorn.conf.py",
                "--chdir", "/src/src/backend/InvenTree",
                "--bind", "127.0.0.1:8000", "--workers", "2",
                "InvenTree.wsgi",
            ],
        )  # fmt: skip

    def test_cluster_runs_qcluster(self):
        self.assertEqual(commands.cluster_argv(self.source)[1:], ["/src/src/backend/InvenTree/manage.py", "qcluster"])

    def test_invoke_uses_the_environments_invoke_script_as_tasks_py_expects(self):
        script = self.write("env/bin/invoke", "#!/bin/sh\n", mode=0o755)
        argv = commands.invoke_argv(self.source, ["migrate"], prefix=str(self.tmp / "env"))
        self.assertEqual(argv, [str(script), "--search-root", "/src", "migrate"])

    def test_invoke_falls_back_to_the_invoke_module(self):
        argv = commands.invoke_argv(self.source, ["migrate"], prefix=str(self.tmp / "no-env"))
        self.assertEqual(argv[1:], ["-m", "invoke", "--search-root", "/src", "migrate"])


class DispatchTest(TempDirTestCase):
    def test_server_arguments_are_passed_through_unparsed(self):
        with mock.patch.object(commands, "server") as server:
            self.assertEqual(cli.main(["server", "--workers", "2", "--help"]), 0)
        self.assertEqual(server.call_args.args[1], ["--workers", "2", "--help"])

    def test_manage_arguments_are_passed_through(self):
        with mock.patch.object(commands, "manage") as manage:
            cli.main(["manage", "showmigrations", "--plan"])
        self.assertEqual(manage.call_args.args[1], ["showmigrations", "--plan"])

    def test_gen_secret_prints_a_key(self):
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(cli.main(["gen-secret"]), 0)
        self.assertEqual(len(out.getvalue().strip()), 64)

    def test_failure_is_one_line_naming_the_subcommand_and_status_1(self):
        err = io.StringIO()
        with mock.patch.dict("os.environ", {}, clear=True), redirect_stderr(err):
            self.assertEqual(cli.main(["cluster"]), 1)
        self.assertTrue(err.getvalue().startswith("inventree-runtime cluster: error: INVENTREE_SRC is not set"))

    def test_wait_for_db_takes_its_bound_from_timeout(self):
        with mock.patch.object(database_wait, "run") as run:
            self.assertEqual(cli.main(["wait-for-db", "--timeout", "5"]), 0)
        self.assertEqual(run.call_args.args[1], 5.0)

    def test_restore_passes_the_named_backups(self):
        with mock.patch.object(restore, "run") as run:
            self.assertEqual(cli.main(["restore", "--database", "db.gz", "--media", "media.tar"]), 0)
        self.assertEqual(run.call_args.args[1:3], ("db.gz", "media.tar"))
        self.assertFalse(run.call_args.kwargs["plan_only"])

    def test_restore_plan_changes_nothing(self):
        with mock.patch.object(restore, "run") as run:
            self.assertEqual(cli.main(["restore", "--plan"]), 0)
        self.assertTrue(run.call_args.kwargs["plan_only"])
