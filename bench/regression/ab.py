"""`bench ab`: baseline and candidate measured alternately through their target, so drift and noise hit both alike.

Each round measures A then B (B then A on odd rounds) with the target's own `measure`, the same path `bench run`
takes; each side's rounds are stored as one record (rounds as repeats), tagged with the A/B session id and role.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

import numpy as np

from bench.core.errors import BenchError
from bench.core.outcome import Count, Timing
from bench.core.protocols import get_protocol
from bench.pipeline import Cell, RunSpec, cell_record, measured, prepare
from bench.pipeline.coordinator import Hooks, prepare_cells
from bench.regression.compare import predicted_change
from bench.regression.decision import (DEFAULT_COUNT_THRESHOLD, DEFAULT_THRESHOLD, Decision, compare_counts,
                                      paired_rounds)

AB_PROTOCOL = "mnv4"  # the stored records' statistic: median over rounds of each round's mean


@dataclass
class AbResult:
    session: str
    baseline: str
    candidate: str
    target: str
    rounds: int
    runs: int
    decision: Decision
    baseline_median_ms: float | None  # None for counting targets: their figure is a count, never a time
    candidate_median_ms: float | None
    records: list  # [baseline record, candidate record], stored by the caller

    def row(self) -> dict:
        d = self.decision
        return {
            "model": self.candidate, "baseline": self.baseline, "candidate": self.candidate, "target": self.target,
            "ratio": d.ratio, "ci_low": d.ci_low, "ci_high": d.ci_high, "p_value": d.p_value, "verdict": d.verdict,
            "test": d.test, "rounds": self.rounds, "runs_per_round": self.runs, "session": self.session,
            "baseline_median_ms": self.baseline_median_ms, "candidate_median_ms": self.candidate_median_ms,
            "predicted": predicted_change(*self.records),  # phone ms predicted from counts: shown, never decided on
        }


def _cells(baseline: RunSpec, candidate: RunSpec, warmup: int, runs: int) -> list[Cell]:
    round_protocol = get_protocol(AB_PROTOCOL).with_overrides(warmup=warmup, runs=runs, repeats=1)
    cells = []
    for spec in (baseline, candidate):
        deployments = prepare(spec)
        if len(deployments) != 1:
            raise BenchError("bench ab compares on one device at a time; give one --serial / --device")
        cells.append(Cell(deployments[0], round_protocol))
    return cells


def run_ab(baseline: RunSpec, candidate: RunSpec, *, rounds: int, runs: int, warmup: int,
           threshold: float = DEFAULT_THRESHOLD, count_threshold: float = DEFAULT_COUNT_THRESHOLD,
           hooks: Hooks | None = None, progress=None) -> AbResult:
    if rounds < 2 or runs < 1:
        raise BenchError(f"bench ab needs at least 2 rounds and 1 run per round (got {rounds} rounds, {runs} runs)")
    hooks = hooks or Hooks()
    cells = _cells(baseline, candidate, warmup, runs)
    prepare_cells(cells, hooks)
    measurements: list[list] = [[], []]
    for i in range(rounds):
        for side in ((0, 1) if i % 2 == 0 else (1, 0)):  # ABBA...: neither side always runs first
            measurements[side].append(measured(cells[side]))
        if progress:
            progress(1)
        if isinstance(measurements[0][0].outcome, Count):  # exact: no noise to average over, one round decides
            break
    if isinstance(measurements[0][0].outcome, Count):
        decision = compare_counts(measurements[0][0].outcome.counts[0], measurements[1][0].outcome.counts[0],
                                  threshold=count_threshold)
        medians = [None, None]
    else:
        samples = [[m.outcome.samples_ns[0] for m in side] for side in measurements]
        decision = paired_rounds(samples[0], samples[1], threshold=threshold)
        medians = [float(np.median(np.concatenate(side))) / 1e6 for side in samples]
    session = uuid.uuid4().hex[:12]
    records = [_record(cell, side_measurements, session, role, decision)
               for cell, side_measurements, role in zip(cells, measurements, ("baseline", "candidate"))]
    return AbResult(
        session=session,
        baseline=f"{cells[0].artifact.model}@{cells[0].artifact.resolution}",
        candidate=f"{cells[1].artifact.model}@{cells[1].artifact.resolution}",
        target=cells[0].deployment.target.name, rounds=len(measurements[0]), runs=runs, decision=decision,
        baseline_median_ms=medians[0], candidate_median_ms=medians[1], records=records,
    )


def _record(cell: Cell, measurements: list, session: str, role: str, decision: Decision):
    """One record per side: every round's raw samples (or counts) kept, rounds as repeats, tagged with the session."""
    merged = replace(measurements[0], outcome=_joined([m.outcome for m in measurements]))
    rounds = len(measurements)
    merged.extra = {**merged.extra, "ab_session": session, "ab_role": role, "ab_verdict": decision.verdict,
                    "ab_ratio": decision.ratio}
    protocol = replace(cell.protocol, repeats=rounds)
    return cell_record(cell, merged, protocol)


def _joined(outcomes: list):
    """The rounds of one side as one outcome: a Timing's first repeat of each round as repeats, or every count."""
    first = outcomes[0]
    if isinstance(first, Count):
        return Count(unit=first.unit, counts=[c for o in outcomes for c in o.counts])
    return Timing(samples_ns=[s for o in outcomes for s in o.samples_ns[:1]])
