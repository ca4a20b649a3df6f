"""The `bench` command line: the commands (bench/commands/, one module each) and the one place where typed errors
become one line on stderr.

Only light modules are imported here: torch, coremltools and LiteRT load inside the commands that use them.
"""

from __future__ import annotations

import os
import sys

import click
import typer

try:  # typer >= 0.29 vendors its own click; its exceptions are not click's
    from typer._click import exceptions as _typer_click_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    _typer_click_exceptions = click.exceptions

from bench.commands import analysis, export, imports, listings, phones, regression, run, sweep
from bench.core.errors import BenchError
from bench.core.version import __version__


def _either(name: str, *extra) -> tuple:
    """The exception class `name` from click and from typer's vendored click, whichever exist."""
    found = {getattr(m, name) for m in (click.exceptions, _typer_click_exceptions) if hasattr(m, name)}
    return tuple(found | set(extra))


_EXIT = _either("Exit", typer.Exit)
_NO_ARGS = _either("NoArgsIsHelpError")
_USAGE = _either("ClickException")
_ABORT = _either("Abort", typer.Abort, KeyboardInterrupt)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="On-device latency benchmarking for mobile vision models.",
)


def _show_version(value: bool) -> None:
    if value:
        print(f"bench {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                          help="Print bench's version and exit.")) -> None:
    """On-device latency benchmarking for mobile vision models."""


import_app = typer.Typer(help="Store measurements taken elsewhere.", no_args_is_help=True)
app.add_typer(import_app, name="import")

# `bench run` passes the flags it does not define itself to the chosen target, which declares what it takes.
app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
            epilog=run.TARGET_FLAGS_HELP)(run.run)
for command in (export.export, listings.models, listings.targets, listings.results, phones.phones, phones.calibrate,
                sweep.sweep, analysis.analyze, analysis.roofline, analysis.report, regression.compare, regression.ab):
    app.command()(command)  # named after its function, listed by --help in this order
import_app.command("benchmark-model")(imports.benchmark_model)
import_app.command("ios-result")(imports.ios_result)
import_app.command("aihub")(imports.aihub)
import_app.command("record")(imports.record)


def main(argv: list[str] | None = None) -> None:
    command = typer.main.get_command(app)
    try:
        rc = command.main(args=argv, prog_name="bench", standalone_mode=False)
    except _EXIT as exc:
        sys.exit(exc.exit_code)
    except _NO_ARGS as exc:
        print(exc.ctx.get_help() if exc.ctx else str(exc), file=sys.stderr)
        sys.exit(2)
    except _USAGE as exc:
        where = f" (see `{exc.ctx.command_path} --help`)" if getattr(exc, "ctx", None) else ""
        print(f"bench: error: {exc.format_message()}{where}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except _ABORT:
        print("bench: interrupted; finished measurements are stored", file=sys.stderr)
        sys.exit(130)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: one line unless asked for the traceback
        if os.environ.get("BENCH_DEBUG"):
            raise
        print(f"bench: internal error: {type(exc).__name__}: {exc} (set BENCH_DEBUG=1 for a traceback)", file=sys.stderr)
        sys.exit(70)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
