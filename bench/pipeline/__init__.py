"""One way to measure, whatever command asked: validate -> preflight -> export -> ready -> measure -> store.

`bench run`, suites, `bench sweep` and `bench ab` all go through `prepare` (checks, once) and the coordinator.
"""

from bench.pipeline.artifacts import planned_artifact, resolve_artifact
from bench.pipeline.coordinator import Hooks, Outcome, measure_cell, plan_cells, run_cells
from bench.pipeline.records import build_record
from bench.pipeline.spec import Cell, Job, RunSpec, is_model_path, prepare

__all__ = ["Cell", "Hooks", "Job", "Outcome", "RunSpec", "build_record", "is_model_path", "measure_cell",
           "plan_cells", "planned_artifact", "prepare", "resolve_artifact", "run_cells"]
