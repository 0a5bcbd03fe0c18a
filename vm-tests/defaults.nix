# The module with its defaults: SQLite in the data dir, gunicorn on 127.0.0.1:8000, one declared
# superuser. Proves the units come up in order, the probe finds API, auth and worker healthy, a
# label and a report print with text, and no secret reaches unit files, config or journal.
{ inventree, ... }:
{
  nodes.machine = { };

  testScript =
    { nodes, ... }:
    let
      cfg = nodes.machine.services.inventree;
    in
    inventree.testScript ''
      start_all()

      with subtest("setup runs before server and worker, which then stay up"):
          wait_for_inventree(machine)
          for unit in ["inventree-server.service", "inventree-cluster.service"]:
              after = unit_property(machine, unit, "After")
              assert "inventree-setup.service" in after, f"{unit} is not ordered after setup: {after}"

      with subtest("the probe finds the pinned InvenTree, the declared admin and a working worker"):
          report = assert_healthy(machine, extra=["--expect-version", "${cfg.packages.version}"])
          machine.log(json.dumps(report, indent=2))

      with subtest("the SQLite database and the config live in the data dir"):
          machine.succeed("test -s ${cfg.dataDir}/config.yaml")
          machine.succeed("test -s ${cfg.database.name}")
          assert "${cfg.database.name}".startswith("${cfg.dataDir}/"), "SQLite file outside dataDir"

      with subtest("the declared admin is a superuser"):
          token = api_token(machine)
          me = api(machine, token, "GET", "/api/user/me/")
          assert me["username"] == ADMIN_USER, me
          assert me.get("is_superuser"), f"{ADMIN_USER} is not a superuser: {me}"

      with subtest("inventree-manage and inventree-invoke reach the service's config and database"):
          applied = machine.succeed("inventree-manage showmigrations --plan | grep -c '\\[X\\]'")
          assert int(applied.strip()) > 100, f"only {applied.strip()} migrations applied?"
          machine.succeed("inventree-invoke --list >&2")

      with subtest("a part label and a stock item report print as PDFs with text (services.inventree.fonts)"):
          token = api_token(machine)
          part = create_part(machine, token, "VM printed resistor")
          stock = api(machine, token, "POST", "/api/stock/", {"part": part, "quantity": 3})[0]["pk"]
          python = "${cfg.packages.python}/bin/python"
          media = "${cfg.internal.settings.media_root}"
          label = printed_pdf_text(machine, token, "label", "part", part, python, media)
          assert "VMprintedresistor" in unspaced(label), f"the label shows no part name: {label!r}"
          report = printed_pdf_text(machine, token, "report", "stockitem", stock, python, media)
          assert f"StockItemID:{stock}" in unspaced(report), f"the report shows no stock item: {report!r}"

      with subtest("no secret in unit files, config.yaml, unit environment or journal"):
          assert_no_secret_leak(machine, "${cfg.dataDir}")
    '';
}
