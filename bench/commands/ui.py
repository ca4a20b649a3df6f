"""Terminal plumbing shared by the commands: consoles, progress bars, one-line notes, JSON lines."""

from __future__ import annotations

import json
import sys


def stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def stdout_console():
    from rich.console import Console

    # Piped output (CI logs, files) gets a wide table instead of rich's 80-column default.
    return Console(width=None if sys.stdout.isatty() else 200)


def notify(message: str) -> None:
    """One line of progress or a note: never wrapped, so a log keeps it whole (and markup in it is not read)."""
    from rich.text import Text

    stderr_console().print(Text(message, style="dim"), soft_wrap=True, highlight=False)


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


def write_out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def progress_bar(*, elapsed: bool = False):
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    columns += [TimeElapsedColumn()] if elapsed else []
    return Progress(*columns, TimeRemainingColumn(), console=stderr_console(), transient=not elapsed)


def bar_hooks(bar, **overrides):
    """Coordinator hooks that drive a rich progress bar: one task per cell, advanced run by run."""
    from bench.pipeline import Hooks

    def started(cell):
        task = bar.add_task(cell.label(), total=cell.protocol.runs * cell.protocol.repeats)
        return lambda n: bar.advance(task, n)

    return Hooks(notify=notify, started=started, **overrides)


def print_table(title: str, rows: list[dict]) -> None:
    """Rows of plain values as a terminal table, columns in the first row's order."""
    from rich.table import Table

    table = Table(title=title)
    for column in (rows[0] if rows else {}):
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    stdout_console().print(table)
