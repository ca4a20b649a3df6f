"""One interface, one small writer per format. Writers only serialize: where the text goes is the command's call."""

from __future__ import annotations

import json
from typing import Iterable

from bench.core.errors import UnknownChoice
from bench.core.outcome import Count, Timing
from bench.core.registry import Registry


class Writer:
    name = ""

    def serialize(self, items, **options) -> str:
        raise NotImplementedError


WRITERS: Registry[Writer] = Registry("output format")


def register_writer(cls):
    WRITERS.register(cls.name, cls())
    return cls


def get_writer(name: str) -> Writer:
    return WRITERS.get(name)


def write(name: str, items, **options) -> str:
    return get_writer(name).serialize(items, **options)


def _ms(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def partly_delegated(r) -> bool:
    """Android's partial delegation or AI Hub's partial placement: never shown as the accelerator's own number."""
    extra = r.extra or {}
    return bool(extra.get("partially_delegated")) or (extra.get("placement") or {}).get("status") in ("partial", "unknown")


def predicted_text(r) -> str:
    """A count's predicted phone milliseconds, each labelled with its phone: "pixel6 3.412 (3.21-3.66)"."""
    return "; ".join(f"{p['phone']} {p['predicted_ms']:.3f} ({p['low_ms']:.2f}-{p['high_ms']:.2f})"
                     for p in r.predictions) or "-"


def _figure(r) -> str:
    """The protocol's statistic in its own unit: counting targets give exact integers, never milliseconds."""
    if isinstance(r.outcome, Count):
        return r.shown()
    flags = [flag for flag, on in (("partial", partly_delegated(r)), ("throttled", (r.extra or {}).get("throttled")))
             if on]
    return _ms(r.latency_ms) + (f" ({', '.join(flags)})" if flags else "")


@register_writer
class TableWriter(Writer):
    """Records as a terminal table (rich), optionally relative to one model of the same place and format."""

    name = "table"
    columns = ("model", "res", "target", "format", "protocol", "latency", "min", "median", "mean", "std", "n",
               "params (M)", "MACs (G)", "traffic (MB)")

    def serialize(self, records, *, relative_to: str | None = None, width: int = 200, title: str | None = None,
                  **_) -> str:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title or self.title({r.unit for r in records}))
        predicted = any(r.predictions for r in records)
        columns = list(self.columns) + ([f"x {relative_to}"] if relative_to else []) + \
            (["predicted phone ms (band)"] if predicted else [])
        for column in columns:
            table.add_column(column, justify="left" if column in ("model", "target", "format", "protocol") else "right")
        reference = {(r.target, r.format, r.precision): r for r in records if r.model == relative_to}
        for r in records:
            table.add_row(*self.row(r), *self.relative(r, reference, relative_to),
                          *([predicted_text(r)] if predicted else []))
        console = Console(width=width, record=True, file=_Discard())
        console.print(table)
        return console.export_text()

    @staticmethod
    def title(units: set) -> str:
        if units <= {Timing.unit}:
            return "latency (ms)"
        counted = ", ".join(sorted(u for u in units if u != Timing.unit))
        return f"{counted} per inference" if Timing.unit not in units else \
            f"latency (ms) and {counted} per inference"

    @staticmethod
    def row(r) -> list[str]:
        options = r.options or {}
        place = r.target + "".join(f" {options[k]}" for k in ("delegate", "compute_units", "compute_unit") if options.get(k))
        return [r.model, str(r.resolution), place, f"{r.format}/{r.precision}", r.protocol, _figure(r),
                _ms(r.min_ms), _ms(r.median_ms), _ms(r.mean_ms), _ms(r.stddev_ms), str(r.n_samples),
                f"{r.params / 1e6:.2f}" if r.params else "-", f"{r.macs / 1e9:.3f}" if r.macs else "-",
                f"{r.memory_traffic / 1e6:.1f}" if r.memory_traffic else "-"]

    @staticmethod
    def relative(r, reference: dict, relative_to: str | None) -> list[str]:
        if not relative_to:
            return []
        ref = reference.get((r.target, r.format, r.precision))
        if ref is None:
            return ["-"]
        mine, theirs = r.figure, ref.figure if ref.unit == r.unit else None
        return [f"{mine / theirs:.2f}" if mine and theirs else "-"]


class _Discard:
    def write(self, _text):
        return 0

    def flush(self):
        return None


@register_writer
class CsvWriter(Writer):
    """One tidy row per record; raw samples as a ';'-separated ms column when asked."""

    name = "csv"

    def serialize(self, records, *, with_samples: bool = False, **_) -> str:
        import csv

        from bench.report.tables import records_frame

        return records_frame(list(records), with_samples).to_csv(index=False, quoting=csv.QUOTE_MINIMAL)


@register_writer
class JsonWriter(Writer):
    """One JSON object per line (records' summaries, or plain dicts)."""

    name = "json"

    def serialize(self, items: Iterable, *, with_samples: bool = False, as_list: bool = False, **_) -> str:
        objects = [self.plain(i, with_samples) for i in items]
        if as_list:
            return json.dumps(objects, default=str) + "\n"
        return "".join(json.dumps(o, default=str) + "\n" for o in objects)

    @staticmethod
    def plain(item, with_samples: bool):
        if hasattr(item, "summary"):
            return item.to_dict() if with_samples else item.summary()
        return item.to_dict() if hasattr(item, "to_dict") else item


@register_writer
class MarkdownWriter(Writer):
    """Comparison rows as a Markdown summary (a PR comment)."""

    name = "markdown"

    def serialize(self, rows, *, title: str = "Latency comparison", note: str = "", **_) -> str:
        from bench.regression.compare import markdown

        return markdown(list(rows), title=title, note=note)


@register_writer
class JunitWriter(Writer):
    """Comparison rows as JUnit XML: a slower row is a failed test case."""

    name = "junit"

    def serialize(self, rows, **_) -> str:
        from bench.regression.compare import junit

        return junit(list(rows))


__all__ = ["UnknownChoice", "Writer", "get_writer", "register_writer", "write"]
