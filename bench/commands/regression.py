"""`bench compare` (two sets of measurements) and `bench ab` (two models alternated): exit 1 when slower."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from bench.commands import ui
from bench.core.errors import BenchError


def compare(
    baseline: Path = typer.Argument(..., help="Baseline: a store (.sqlite), a `bench results --csv` CSV or a result JSON."),
    current: Path = typer.Argument(..., help="Current: same kinds as the baseline."),
    threshold: float = typer.Option(0.05, help="Relative change that counts (0.05 = 5%)."),
    alpha: float = typer.Option(0.01, help="Significance level of the Mann-Whitney U test on raw samples."),
    markdown_out: Optional[Path] = typer.Option(None, "--markdown", help="Write a Markdown summary (PR comment)."),
    junit_out: Optional[Path] = typer.Option(None, "--junit", help="Write a JUnit XML report."),
    count_threshold: float = typer.Option(0.005, help="Relative change of an exact count (arm64-emu instructions) that counts."),
    report_only: bool = typer.Option(False, help="Always exit 0 (report, do not gate)."),
    gate_counts: bool = typer.Option(False, help="Exit 1 when a counting row (instructions) is slower, or cannot be checked (another emulator set-up, or gone), even with --report-only."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as a JSON list."),
):
    """Compare two sets of measurements; exit 1 when any row is slower.

    Timed rows: threshold plus a Mann-Whitney U test on the raw samples. Counting rows (exact instructions per
    inference): the plain ratio against --count-threshold, since there is no noise to test against."""
    from bench.output import write
    from bench.regression.compare import any_slower, compare_records, load_records, ungated

    if threshold <= 0 or count_threshold <= 0 or not 0 < alpha < 1:
        raise BenchError(f"--threshold and --count-threshold must be > 0 and --alpha in (0, 1) "
                         f"(got {threshold}, {count_threshold}, {alpha})")
    _check_outputs(markdown_out=markdown_out, junit_out=junit_out)
    rows = compare_records(_loaded(baseline, "baseline"), _loaded(current, "current"), threshold=threshold,
                           alpha=alpha, count_threshold=count_threshold)
    summary = write("markdown", rows, note=f"timed rows: threshold {threshold:.0%}, alpha {alpha}, Mann-Whitney U on "
                                           f"raw samples; counting rows: threshold {count_threshold:.2%}")
    if markdown_out:
        markdown_out.write_text(summary)
    if junit_out:
        junit_out.write_text(write("junit", rows))
    ui.write_out(write("json", rows, as_list=True) if as_json else summary)
    if (any_slower(rows) and not report_only) or (gate_counts and any_slower(rows, units=("instructions",))):
        raise typer.Exit(1)
    if gate_counts and (skipped := ungated(rows)):
        ui.notify(f"the count gate could not check {len(skipped)} baseline row(s): " + "; ".join(
            f"{r.model} {r.format}/{r.precision}: {r.reason}" for r in skipped[:3]) +
            " (measure a new baseline on this set-up: `bench run --suite ci` and commit its rows)")
        raise typer.Exit(1)


STORE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


def _check_outputs(**places) -> None:
    """Every file the command will write, checked before any work (one line naming the flag and why)."""
    from bench.core.places import writable_file

    examples = {"markdown": "summary.md", "junit": "report.xml"}
    for name, path in places.items():
        flag = name.removesuffix("_out")
        if path:
            writable_file(path, "--" + flag, example=examples[flag])


def _loaded(path: Path, side: str) -> list:
    """The records of one side; a file named like a store must be one (never read as a CSV), and a side with no
    records is an error, not a comparison of nothing."""
    from bench.core.errors import InputDataError
    from bench.regression.compare import load_records

    if path.suffix.lower() in STORE_SUFFIXES and path.is_file():
        with open(path, "rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                raise InputDataError(f"{side} {path} is named like a store but is not a SQLite file (corrupt, or not "
                                     "bench's); give a store, a `bench results --csv` CSV or a result JSON")
    records = load_records(path)
    if not records:
        raise InputDataError(f"{side} {path} holds no records; nothing to compare (measure with `bench run`)")
    return records


def ab(
    baseline: str = typer.Option(..., "--baseline", "-a", help="Zoo model or model file."),
    candidate: str = typer.Option(..., "--candidate", "-b", help="Zoo model or model file."),
    target: str = typer.Option("host", "--target", "-t", help="Any target (see `bench targets`)."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f"),
    precision: Optional[str] = typer.Option(None, "--precision", "-p"),
    rounds: int = typer.Option(20, help="Alternating rounds."),
    runs: int = typer.Option(100, help="Timed runs per model per round."),
    warmup: int = typer.Option(20, help="Warm-up runs per model in each round (each round loads the model afresh)."),
    threads: int = typer.Option(1),
    baseline_resolution: Optional[int] = typer.Option(None, help="Resolution of the baseline (zoo models)."),
    candidate_resolution: Optional[int] = typer.Option(None, help="Resolution of the candidate (zoo models)."),
    threshold: float = typer.Option(0.05, help="Relative change that counts."),
    count_threshold: float = typer.Option(0.005, help="Relative change of an exact count (arm64-emu) that counts."),
    store: Optional[Path] = typer.Option(None, help="SQLite store for both sides' records (default: $BENCH_STORE or results/bench.sqlite)."),
    markdown_out: Optional[Path] = typer.Option(None, "--markdown", help="Write a Markdown summary."),
    phone: List[str] = typer.Option([], "--phone", help="With arm64-emu: also show this phone's predicted milliseconds (the verdict stays on the counts); repeatable."),
    as_json: bool = typer.Option(False, "--json"),
):
    """A/B: measure baseline and candidate alternately; store both; exit 1 when the candidate is slower."""
    from bench.pipeline import RunSpec
    from bench.regression.ab import run_ab
    from bench.store.database import Store, check_writable

    from bench.core.options import check_counts

    check_counts(warmup, runs, rounds, repeats_flag="--rounds")  # sizes before anything is exported or allocated
    check_writable(store)
    _check_outputs(markdown=markdown_out)
    specs = [RunSpec(model=m, target=target, format=fmt, precision=precision, threads=threads, resolution=r,
                     phones=tuple(phone))
             for m, r in ((baseline, baseline_resolution), (candidate, candidate_resolution))]
    with ui.progress_bar() as bar:
        task = bar.add_task("A/B rounds", total=rounds)
        result = run_ab(*specs, rounds=rounds, runs=runs, warmup=warmup, threshold=threshold,
                        count_threshold=count_threshold,
                        hooks=ui.bar_hooks(bar), progress=lambda n: bar.advance(task, n))
    with Store(store) as s:
        s.add_all(result.records)
    row = result.row()
    text = _ab_line(result, row, baseline, candidate)
    if markdown_out:
        markdown_out.write_text(f"### A/B latency\n\n{text}\n")
    ui.write_out(write_json([row]) if as_json else text)
    if row["verdict"] == "slower":
        raise typer.Exit(1)


def _ab_line(result, row: dict, baseline: str, candidate: str) -> str:
    if row["baseline_median_ms"] is None:  # counting target: exact figures, no interval
        from bench.regression.compare import predicted_change

        a, b = (r.shown() for r in result.records)
        predicted = "".join(f"; predicted {p['phone']} {p['current_ms']:.3f} vs {p['baseline_ms']:.3f} ms "
                            f"({p['change_pct']:+.1f}%, not measured)" for p in predicted_change(*result.records))
        return (f"{candidate} vs {baseline} on {result.target}: ratio {row['ratio']:.5f}, {b} vs {a} "
                f"per inference ({row['test']}): {row['verdict']}{predicted} (A/B session {result.session})")
    return (f"{candidate} vs {baseline} on {result.target}: ratio {row['ratio']:.4f} "
            f"(95% CI {row['ci_low']:.4f}-{row['ci_high']:.4f}), medians {row['candidate_median_ms']:.3f} ms vs "
            f"{row['baseline_median_ms']:.3f} ms, {result.rounds} rounds x {result.runs} runs: {row['verdict']} "
            f"(A/B session {result.session})")


def write_json(rows) -> str:
    from bench.output import write

    return write("json", rows, as_list=True)
