"""`bench models`, `bench targets`, `bench results`: what there is, and what is stored."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from bench.commands import ui


def models(
    pattern: str = typer.Argument("*", help="Glob over model names."),
    suite: Optional[str] = typer.Option(None, help="Only models of this suite."),
    all_: bool = typer.Option(False, "--all", help="Also every model timm knows (at timm's pretrained resolution)."),
    as_json: bool = typer.Option(False, "--json"),
):
    """List the model zoo: the curated entries (paper resolutions), or with --all every timm name too."""
    from bench.zoo import list_models
    from bench.zoo.suites import FIXED_SUITES, suite_names

    if suite and suite not in suite_names():  # the names `bench run --suite` takes, fixed suites (ci) included
        from bench.core.errors import UnknownChoice

        raise UnknownChoice("suite", suite, suite_names())
    if suite in FIXED_SUITES:
        members = {cell.model for cell in FIXED_SUITES[suite]}
        entries = [e for e in list_models(pattern) if e.name in members]
    else:
        entries = list_models(pattern, suite=suite, all=all_)
    if not entries:
        from bench.commands.stored import NothingStored

        where = f"suite {suite}" if suite else ("the curated zoo or timm's list" if all_ else "the curated zoo")
        more = "" if all_ or suite else "; `bench models --all PATTERN` also searches every timm model"
        raise NothingStored(f"no model matches '{pattern}' in {where}{more}")
    rows = [{"name": e.name, "resolution": e.resolution, "family": e.family, "framework": e.framework,
             "source": e.source, "suites": list(e.suites), "curated": e.curated} for e in entries]
    if as_json:
        ui.print_json(rows)
        return
    ui.print_table("models", [{**r, "suites": ", ".join(r["suites"])} for r in rows])
    if not all_:
        ui.stderr_console().print("curated models; `bench models --all [PATTERN]` lists every timm model, and any of "
                                  "them runs by name")


def targets(
    show_options: bool = typer.Option(False, "--options", help="Also list each target's own flags for `bench run`."),
    aihub: bool = typer.Option(False, "--aihub", help="List the Qualcomm AI Hub devices this account can use."),
    client_profile: Optional[str] = typer.Option(None, help="With --aihub: qai-hub client profile (~/.qai_hub/NAME.ini)."),
    as_json: bool = typer.Option(False, "--json"),
):
    """List targets, the formats/precisions each runs, and the options each takes."""
    from devices import list_targets

    if aihub:
        from devices.aihub.client import list_devices

        rows = list_devices(client_profile)
        ui.print_json(rows) if as_json else ui.print_table("AI Hub devices", [
            {k: ", ".join(v) if isinstance(v, list) else v for k, v in row.items()} for row in rows])
        return

    rows = [{"name": t.name, "aliases": list(t.aliases), "kind": t.kind, "runtime": t.runtime, "runs": t.pairs(),
             "options": [o.flag for o in t.options], "description": t.description} for t in list_targets()]
    if as_json:
        ui.print_json(rows)
        return
    ui.print_table("targets", [{**r, "aliases": ", ".join(r["aliases"]), "runs": ", ".join(r["runs"]),
                        "options": ", ".join(r["options"])} for r in rows])
    if show_options:
        for t in list_targets():
            if t.options:
                ui.write_out(f"\n{t.name}:\n" + "\n".join(f"  {o.describe()}" for o in t.options))


def results(
    store: Optional[Path] = typer.Option(None, help="SQLite store (default: $BENCH_STORE or results/bench.sqlite)."),
    model: Optional[List[str]] = typer.Option(None, "--model", "-m"),
    target: Optional[List[str]] = typer.Option(None, "--target", "-t"),
    protocol: Optional[str] = typer.Option(None),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Write a tidy CSV, one row per record."),
    samples: bool = typer.Option(False, help="Include raw samples: a ';'-separated ms column in --csv, samples_ns in --json."),
    every_session: bool = typer.Option(False, "--all", help="Every session, not one row per configuration."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Stored results: one row per configuration (latest value, sessions, min-max), or every session with --all.

    --csv and --json always hold every session."""
    from bench.commands.stored import stored_records
    from bench.output import write

    if csv:
        from bench.core.places import writable_file

        writable_file(csv, "--csv", example="results.csv")
    found = stored_records(store, model=model, target=target, protocol=protocol, empty_ok=True)
    if csv:
        csv.parent.mkdir(parents=True, exist_ok=True)
        csv.write_text(write("csv", found, with_samples=samples))
        ui.stderr_console().print(f"wrote {len(found)} records to {csv}")
    if as_json:
        ui.write_out(write("json", found, with_samples=samples, as_list=True))
    elif not csv and found:
        from bench.report.tables import results_tables

        for heading, table in results_tables(found, every_session=every_session):
            ui.print_table(f"stored results ({heading})", table.to_dict("records"))
