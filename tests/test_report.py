"""Reports from a store of real measurements: one row per configuration, plots, Markdown, and the HTML page opened
in a real browser (Debian's chromium, headless, driven over the DevTools protocol)."""

import base64
import dataclasses
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from bench.core.outcome import Count
from bench.core.record import Record
from bench.report.summary import write_report
from bench.report.tables import by_unit, configuration_table, display, session_table
from bench.store.database import open_existing
from tests.conftest import run_bench

MODELS = ("mobileone_s0", "mobilenetv4_conv_small", "mobilenetv2_100")
TARGETS = ("host", "host-litert")
SESSIONS = 2


@pytest.fixture(scope="module")
def measured(tmp_path_factory, artifact_cache):
    """A store of real measurements: three small zoo models (96 px) on host and host-litert, two sessions each."""
    store = tmp_path_factory.mktemp("store") / "bench.sqlite"
    models = [arg for m in MODELS for arg in ("--model", m)]
    for _ in range(SESSIONS):
        for target in TARGETS:
            result = run_bench("run", *models, "--target", target, "--resolution", 96, "--runs", 30, "--warmup", 3,
                               "--store", store)
            assert result.returncode == 0, result.stderr
    with open_existing(store) as s:
        records = s.records()
    assert len(records) == len(MODELS) * len(TARGETS) * SESSIONS
    return store, records


@pytest.fixture(scope="module")
def report(measured, tmp_path_factory):
    """The report of the whole store, written once for the tests that only read it."""
    return write_report(measured[1], tmp_path_factory.mktemp("report") / "two-targets", title="two targets")


def test_one_row_per_configuration(measured):
    _, records = measured
    table = configuration_table(records)
    assert len(table) == len(MODELS) * len(TARGETS)
    assert set(table["sessions"]) == {SESSIONS}
    for _, row in table.iterrows():
        same = sorted((r for r in records if (r.model, r.target) == (row["model"], row["target"])),
                      key=lambda r: r.timestamp)
        assert row["latest"] == same[-1].latency_ms
        assert (row["min"], row["max"]) == (min(r.latency_ms for r in same), max(r.latency_ms for r in same))
        assert row["spread_pct"] == pytest.approx(100 * (row["max"] - row["min"]) / row["min"])
    assert set(table.loc[table["target"] == "host-litert", "units"]) == {"xnnpack"}  # the delegate it ran with
    sessions = session_table(records)
    assert len(sessions) == len(records) and list(sessions["timestamp"]) == sorted(sessions["timestamp"])


def test_report_reads_answer_first(measured, report):
    _, records = measured
    written = report
    md = written["markdown"].read_text()
    order = ["## What was measured", "## Headline", "## Rank correlation", "## Model ranks", "## Plots",
             "## Appendix: every session"]
    assert [md.index(h) for h in order] == sorted(md.index(h) for h in order)
    headline = md[md.index("### Latency (ms)"):md.index("### Configurations")]
    for model in MODELS:  # one headline row per model, one column per target
        assert len(re.findall(rf"^\| {model} 96px ", headline, flags=re.M)) == 1
    assert "host onnx/fp32" in headline and "host-litert tflite/fp32 [xnnpack]" in headline
    correlation = md[md.index("## Rank correlation"):md.index("## Model ranks")]
    assert "Spearman rho FLOPs" in correlation and correlation.count("| mobileone ") == len(TARGETS)
    configs = md[md.index("### Configurations"):md.index("## Rank correlation")]
    assert len([line for line in configs.splitlines() if line.startswith("| mobile")]) == len(MODELS) * len(TARGETS)
    appendix = md[md.index("## Appendix"):]
    assert len([line for line in appendix.splitlines() if line.startswith("| mobile")]) == len(records)
    import pandas as pd

    assert len(pd.read_csv(written["csv"])) == len(records)  # per-session rows in the CSV
    assert len(pd.read_csv(written["configurations_csv"])) == len(MODELS) * len(TARGETS)
    for key in ("scatter", "scatter_log", "ranks", "samples"):
        assert f"]({written[key].name})" in md


def test_plots_fit_the_page_they_are_shown_on(report):
    """Every PNG is at most as wide as the HTML page's column (1320 px), so it is shown at its drawn size, where
    its 7.5-10 pt fonts are readable; the distribution plot has one panel per configuration."""
    from PIL import Image

    written = report
    for key in ("scatter", "scatter_log", "ranks", "samples"):
        width, height = Image.open(written[key]).size
        assert 600 <= width <= 1300 and height >= 250, (key, width, height)
    rows = -(-len(MODELS) * len(TARGETS) // 3)
    assert Image.open(written["samples"]).size[1] == pytest.approx(rows * 3.4 * 110, abs=2)


def test_fewer_than_three_models_says_what_to_run(measured, tmp_path):
    _, records = measured
    two = [r for r in records if r.model in MODELS[:2]]
    md = write_report(two, tmp_path / "report")["markdown"].read_text()
    section = md[md.index("## Rank correlation"):md.index("## Model ranks")]
    assert "at least 3" in section
    for target, fmt in (("host", "onnx"), ("host-litert", "tflite")):
        assert f"--target {target} --format {fmt} --precision fp32`" in section
    assert "bench run --model mobilenetv2_100" in section  # a model not yet measured


def test_bench_report_cli(measured, tmp_path):
    store, records = measured
    out = tmp_path / "cli-report"
    result = run_bench("report", "--store", store, "--out", out, "--target", "host")
    assert result.returncode == 0, result.stderr
    md = (out / "summary.md").read_text()
    assert f"{SESSIONS * len(MODELS)} sessions of {len(MODELS)} configurations" in md


def _with(record: Record, **changes) -> Record:
    return dataclasses.replace(record, id=record.id + "x", **changes)


def test_counts_and_partial_delegation_are_never_shown_as_plain_milliseconds(measured, tmp_path):
    """Layout check: a counting record (unit instructions, no latency) is grouped apart under its unit, and a run
    flagged partially delegated says so beside its figure. The flags are set here; the timed figures are real."""
    _, records = measured
    timed = [r for r in records if r.target == "host-litert"]
    partial = _with(timed[-1], extra={**timed[-1].extra, "partially_delegated": True,
                                     "delegation": {"delegate": "gpu", "graph": "partial", "delegate_kernels": 3}})
    count = _with(timed[-1], target="arm64-emu", outcome=Count(counts=[102_512_345]).derive())
    table = configuration_table([*timed[:-1], partial, count])
    parts = dict(by_unit(table))
    assert set(parts) == {"ms", "instructions per inference"}
    counted = display(parts["instructions per inference"])
    assert counted["latest (instructions per inference)"].tolist() == ["102,512,345"]
    assert not any("ms" in c for c in counted.columns)
    assert "arm64-emu" not in set(parts["ms"]["target"])
    flagged = parts["ms"][parts["ms"]["model"] == partial.model]
    assert flagged["delegation"].tolist() == ["partial (3 delegate kernels)"]
    md = write_report([*timed[:-1], partial, count], tmp_path / "r")["markdown"].read_text()
    assert "### Counts (instructions per inference)" in md and "102,512,345" in md
    headline = md[md.index("### Latency (ms)"):md.index("### Counts")]
    assert f"{round(partial.latency_ms, 3)}, partial (3 delegate kernels)" in headline
    assert "### Configurations (instructions per inference)" in md


@pytest.mark.parametrize("extra, options, shown", [
    ({"delegation": {"delegate": "gpu", "graph": "complete", "delegate_kernels": 1}}, {"delegate": "gpu"}, ""),
    ({"delegation": {"delegate": "gpu", "graph": "partial", "delegate_kernels": 4}, "partially_delegated": True},
     {"delegate": "gpu"}, "partial (4 delegate kernels)"),
    ({"placement": {"requested": "NPU", "layers": {"NPU": 90, "CPU": 4, "GPU": 0}, "status": "partial"}},
     {"compute_unit": "npu"}, "partial (NPU 90, CPU 4 layers)"),
    ({"placement": {"requested": "NPU", "layers": {"NPU": 94}, "status": "complete"}}, {"compute_unit": "npu"}, ""),
])
def test_delegation_facts_as_the_targets_record_them(measured, extra, options, shown):
    """The shapes Android (benchmark_model's delegation line) and AI Hub (per-layer placement) write."""
    from bench.report.tables import compute_units, delegation

    record = _with(measured[1][0], extra=extra, requested_options=options)
    assert delegation(record) == shown
    assert compute_units(record) == next(iter(options.values()))


# ---------------------------------------------------------------- the HTML page in a real browser


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class DevTools:
    """Chromium's DevTools protocol over --remote-debugging-pipe: JSON messages ended by a NUL byte, commands to
    the browser on its fd 3, replies and events from it on fd 4 (Chromium's devtools_pipe_handler)."""

    def __init__(self, binary: str, profile: str):
        to_read, self._to = os.pipe()
        self._from, from_write = os.pipe()
        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                f"--user-data-dir={profile}", "about:blank"]
        # bash puts the two pipe ends on the fds the browser reads and writes (3 and 4), then becomes the browser.
        self.proc = subprocess.Popen(["bash", "-c", f'exec "$@" 3<&{to_read} 4>&{from_write}', "bash", *args],
                                     pass_fds=(to_read, from_write), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(to_read)
        os.close(from_write)
        self._buffer, self._next = b"", 0

    def call(self, method: str, session: str | None = None, **params):
        self._next += 1
        message = {"id": self._next, "method": method, "params": params, **({"sessionId": session} if session else {})}
        os.write(self._to, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._from, 1 << 16)
                assert chunk, f"chromium closed the DevTools pipe during {method}"
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._next:
                assert "error" not in reply, (method, reply["error"])
                return reply["result"]

    def close(self):
        try:
            self.call("Browser.close")
        finally:
            self.proc.wait(30)
            os.close(self._to)
            os.close(self._from)


PAGE_FACTS = """JSON.stringify({
  images: [...document.images].map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth,
                                          height: i.naturalHeight, shown: i.getBoundingClientRect().width})),
  tables: [...document.querySelectorAll('table')].map(t => t.querySelectorAll('tbody tr').length),
  headings: [...document.querySelectorAll('h2')].map(h => h.textContent),
  resources: performance.getEntriesByType('resource').map(r => r.name)})"""


def open_in_browser(page: Path, screenshot: Path, timeout: float = 60.0) -> dict:
    """Load `page` in headless chromium at a 1280 px wide viewport; return what its DOM says after the load."""
    with tempfile.TemporaryDirectory() as profile:
        browser = DevTools(_chromium(), profile)
        try:
            target = browser.call("Target.createTarget", url="about:blank")["targetId"]
            session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            browser.call("Emulation.setDeviceMetricsOverride", session, width=1280, height=900,
                         deviceScaleFactor=1, mobile=False)
            url = page.resolve().as_uri()
            browser.call("Page.navigate", session, url=url)

            def evaluate(expression):
                return browser.call("Runtime.evaluate", session, expression=expression,
                                    returnByValue=True)["result"].get("value")

            deadline = time.monotonic() + timeout
            while evaluate("document.readyState + ' ' + location.href") != f"complete {url}":
                assert time.monotonic() < deadline, f"{page} did not finish loading in {timeout} s"
                time.sleep(0.1)
            facts = json.loads(evaluate(PAGE_FACTS))
            shot = browser.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            return facts
        finally:
            browser.close()


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (apt-get install -y chromium; .ci/run does)")
def test_html_report_renders_in_chromium(measured, report, tmp_path):
    _, records = measured
    written = report
    page = written["html"]
    text = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", text)  # self-contained: nothing fetched
    offline = tmp_path / "elsewhere" / "report.html"  # alone in a folder: nothing beside it to lean on
    offline.parent.mkdir()
    shutil.copy(page, offline)
    facts = open_in_browser(offline, tmp_path / "screenshot.png")
    pngs = [p for p in written.values() if p.suffix == ".png"]
    assert len(facts["images"]) == len(pngs) >= 4
    for image in facts["images"]:
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, image  # no broken image
        assert image["shown"] >= 0.9 * image["width"], image  # shown at (nearly) the size it was drawn for
    assert facts["resources"] == []
    assert facts["headings"][:2] == ["What was measured", "Headline"] and facts["headings"][-1].startswith("Appendix")
    assert len(MODELS) in facts["tables"]  # the headline: one row per model
    assert len(MODELS) * len(TARGETS) in facts["tables"]  # the configurations
    assert len(records) in facts["tables"]  # the appendix
    assert (tmp_path / "screenshot.png").stat().st_size > 10_000


def test_rank_table_puts_counting_targets_beside_timed_ones():
    import pandas as pd

    from bench.report.plots import rank_table

    timed = pd.DataFrame({"model": ["a", "b", "c"], "target": "host-litert", "format": "tflite", "precision": "fp32",
                          "latency_ms": [3.0, 1.0, 2.0], "params": [1, 2, 3], "flops": [30, 20, 10]})
    counted = pd.DataFrame({"model": ["a", "b", "c"], "panel": "arm64-emu tflite/fp32", "count": [10, 30, 20]})
    ranks = rank_table(timed, counted)
    assert list(ranks.columns) == ["GMACs", "params", "latency host-litert tflite/fp32", "instructions arm64-emu tflite/fp32"]
    assert ranks.loc["a", "instructions arm64-emu tflite/fp32"] == 1 and ranks.loc["a", "latency host-litert tflite/fp32"] == 3


def test_two_runtimes_counted_on_the_emulated_cpu_stand_side_by_side(tmp_path):
    """The committed CI baseline holds real arm64-emu counts of mobileone_s0 under LiteRT and ONNX Runtime."""
    import json

    baseline = json.loads((Path(__file__).resolve().parent.parent / "results" / "baselines" / "ci.json").read_text())
    counted = [Record.from_dict(r) for r in baseline if r["target"] == "arm64-emu"]
    by_runtime = {(r.runtime, r.precision): r.count for r in counted}
    litert, ort = by_runtime[("litert-aarch64", "fp32")], by_runtime[("onnxruntime-aarch64", "fp32")]
    md = write_report(counted, tmp_path / "r")["markdown"].read_text()
    section = md[md.index("## Runtimes side by side on the emulated CPU"):]
    section = section[:section.index("\n## ", 3)] if "\n## " in section[3:] else section
    fewer = "litert-aarch64" if litert < ort else "onnxruntime-aarch64"
    ratio = max(litert, ort) / min(litert, ort)
    assert f"{litert:,}" in section and f"{ort:,}" in section and fewer in section and f"x{ratio:.2f}" in section
    assert "int8" not in section  # only LiteRT counted the int8 model: nothing to set beside it
