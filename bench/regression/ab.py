"""`bench ab`: baseline and candidate measured alternately in one process, so drift and noise hit both alike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.regression.decision import DEFAULT_THRESHOLD, Decision, paired_rounds
from bench.core.errors import BenchError
from bench.pipeline import RunSpec, resolve_artifact, validate


@dataclass
class AbResult:
    baseline: str
    candidate: str
    target: str
    rounds: int
    runs: int
    decision: Decision
    baseline_median_ms: float
    candidate_median_ms: float
    baseline_rounds_ns: list
    candidate_rounds_ns: list

    def row(self) -> dict:
        d = self.decision
        return {
            "model": self.candidate,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "target": self.target,
            "ratio": d.ratio,
            "ci_low": d.ci_low,
            "ci_high": d.ci_high,
            "p_value": d.p_value,
            "verdict": d.verdict,
            "test": d.test,
            "rounds": self.rounds,
            "runs_per_round": self.runs,
            "baseline_median_ms": self.baseline_median_ms,
            "candidate_median_ms": self.candidate_median_ms,
        }


def run_ab(baseline: RunSpec, candidate: RunSpec, *, rounds: int, runs: int, warmup: int,
           threshold: float = DEFAULT_THRESHOLD, notify=None, progress=None) -> AbResult:
    from devices import get_target
    from devices.affinity import pinned
    from devices.timing import timed_runs, warm_up

    if rounds < 2 or runs < 1:
        raise BenchError(f"bench ab needs at least 2 rounds and 1 run per round (got {rounds} rounds, {runs} runs)")
    target = get_target(baseline.target)
    if not hasattr(target, "open_session"):
        raise BenchError(
            f"bench ab alternates two models in one process, which target {target.name} cannot do; "
            "use host or host-litert (or `bench compare` on two stores)"
        )
    for spec in (baseline, candidate):
        validate(spec)
    artifacts = [resolve_artifact(spec, target, notify=notify) for spec in (baseline, candidate)]
    samples: list[list[list[int]]] = [[], []]
    with pinned(baseline.threads):
        sessions = [target.open_session(a.path, baseline.threads) for a in artifacts]
        for s in sessions:
            warm_up(s.call, warmup)
        for i in range(rounds):
            order = (0, 1) if i % 2 == 0 else (1, 0)  # ABBA...: neither side always runs first
            for side in order:
                samples[side].append(timed_runs(sessions[side].call, runs))
            if progress:
                progress(1)
    decision = paired_rounds(samples[0], samples[1], threshold=threshold)
    return AbResult(
        baseline=f"{artifacts[0].model}@{artifacts[0].resolution}",
        candidate=f"{artifacts[1].model}@{artifacts[1].resolution}",
        target=target.name,
        rounds=rounds,
        runs=runs,
        decision=decision,
        baseline_median_ms=float(np.median(np.concatenate(samples[0]))) / 1e6,
        candidate_median_ms=float(np.median(np.concatenate(samples[1]))) / 1e6,
        baseline_rounds_ns=samples[0],
        candidate_rounds_ns=samples[1],
    )
