"""One way to measure, whatever command asked: validate -> preflight -> export -> ready -> measure -> store.

`bench run`, suites, `bench sweep` and `bench ab` all go through `prepare` (checks, once) and the coordinator.
"""

from bench.pipeline.artifacts import planned_artifact, resolve_artifact
from bench.pipeline.coordinator import Hooks, RunResult, plan_cells, run_cells
from bench.pipeline.records import cell_record, measure_cell, measured, record_of
from bench.pipeline.spec import Cell, Deployment, RunSpec, prepare, prepare_export

__all__ = ["Cell", "Deployment", "Hooks", "RunResult", "RunSpec", "cell_record", "measure_cell", "measured",
           "record_of", "plan_cells", "planned_artifact", "prepare", "prepare_export", "resolve_artifact", "run_cells"]
