"""Export orders and the replies of whoever carries them out (an export worker process, a Ray node).

An order is one artifact to make and every cell that runs it. It travels to another process as its RunSpec (a
Keras model as its saved file), is exported there by `export_order`, and comes back as the Artifact or as a typed
error's reply, ("error", class name, message): some typed errors cannot be unpickled from their message alone, so a
reply names the class and `outcome_of` raises nothing but makes that error again here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from bench.core.errors import BenchError
from bench.pipeline.artifacts import planned_artifact, resolve_artifact, saved_keras
from bench.pipeline.spec import Cell, RunSpec
from exporters.source import KerasModule, ModelFile, TorchModule

ERROR = "error"


@dataclass
class ExportOrder:
    """One artifact to make, and every cell that runs it."""

    spec: RunSpec  # the model as another process can classify it again (a Keras model: its saved file)
    cells: list[Cell] = field(default_factory=list)

    @property
    def deployment(self):
        return self.cells[0].deployment

    def label(self) -> str:
        return f"{self.deployment.source.name} ({self.deployment.format}/{self.deployment.precision})"


def export_orders(cells: list[Cell], notify=None) -> list[ExportOrder]:
    """Cells grouped by the artifact they run. What needs no export (a user's file, an artifact already cached and
    unchanged) is resolved here and now; the rest become orders."""
    orders: dict = {}
    for cell in cells:
        if cell.artifact is not None:
            continue
        deployment = cell.deployment
        if isinstance(deployment.source, ModelFile):
            cell.artifact = resolve_artifact(deployment)
            continue
        found = planned_artifact(deployment, notify)
        if found is not None and getattr(found, "sha256", ""):  # a complete cache entry
            cell.artifact = found
            continue
        key = (type(deployment.source).__name__, _identity(deployment.source), deployment.choice)
        orders.setdefault(key, ExportOrder(portable_spec(deployment))).cells.append(cell)
    return list(orders.values())


def _identity(source) -> str:
    if isinstance(source, TorchModule):
        return source.content_key()
    if isinstance(source, KerasModule):
        return source.content
    return str(getattr(source, "path", source.name))


def portable_spec(deployment) -> RunSpec:
    """The deployment's request as another process can take it: a Keras model travels as its saved file (so
    TensorFlow is never loaded to unpickle it), everything else as given."""
    if isinstance(deployment.source, KerasModule):
        return dataclasses.replace(deployment.spec, model=str(saved_keras(deployment.source)), name=None,
                                   input_size=None)
    return deployment.spec


def export_order(spec: RunSpec):
    """One export where it runs (an export worker, a cluster node): the artifact, or the typed error's reply."""
    from bench.pipeline.spec import prepare

    try:
        return resolve_artifact(prepare(spec)[0])
    except BenchError as exc:
        return error_reply(exc)


def error_reply(exc: BaseException, name: str | None = None, message: str | None = None) -> tuple:
    """A typed error as a reply that any process can unpickle: ("error", its class name, its line); `name` and
    `message` say it otherwise (a bug in a worker, told as an ExportError)."""
    return (ERROR, name or type(exc).__name__, str(exc) if message is None else message)


def typed_error(name: str, message: str) -> BenchError:
    """A typed error raised elsewhere, as its class (BenchError when this code has no such class), with its line."""
    from bench.core import errors

    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, BenchError)):
        cls = BenchError
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    return exc


def outcome_of(value):
    """An export's or measurement's reply: the value, or the typed error it carries."""
    if isinstance(value, tuple) and len(value) == 3 and value[0] == ERROR:
        return typed_error(value[1], value[2])
    return value
