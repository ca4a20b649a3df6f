"""`bench export`: a zoo model to a runtime's format, cached by content, checked against PyTorch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Optional

import typer

from bench.commands import ui


def export(
    model: str = typer.Option(..., "--model", "-m", help="Zoo model name, or a TensorFlow model (SavedModel directory, .keras, .h5)."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="onnx, coreml, tflite or pte (default: onnx; tflite for TensorFlow models)."),
    precision: Optional[str] = typer.Option(None, "--precision", "-p", help="fp32, fp16 or int8."),
    resolution: Optional[int] = typer.Option(None, help="Input resolution (default: the paper's)."),
    input_kind: str = typer.Option("tensor", "--input", help="Core ML input: tensor (float16) or image."),
    representative_dir: Optional[Path] = typer.Option(None, "--calibration-dir", help="Representative images for INT8 quantization (default: synthetic)."),
    out: Optional[Path] = typer.Option(None, help="Also copy the artifact into this directory."),
    force: bool = typer.Option(False, help="Export again even when the cache has it."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
):
    """Export a zoo model (cached by content) and check it against PyTorch (or TensorFlow)."""
    from bench.pipeline import RunSpec, prepare_export
    from bench.pipeline.artifacts import resolve_artifact

    if out:
        from bench.core.places import writable_dir

        writable_dir(out, "--out")  # before the export, not after it
    spec = RunSpec(model=model, format=fmt, precision=precision, resolution=resolution, input_kind=input_kind,
                   representative_dir=str(representative_dir) if representative_dir else None)
    artifact = resolve_artifact(prepare_export(spec), force=force, notify=ui.notify)
    path = _copy_to(artifact.path, out) if out else artifact.path
    summary = {**artifact.to_json(), "path": str(path)}
    if as_json:
        ui.print_json(summary)
        return
    ui.write_out(f"{'cached' if artifact.cached else 'exported'} {path}\n"
                 f"  {artifact.size_bytes / 1e6:.2f} MB, export {artifact.export_s} s, sha256 {artifact.sha256[:16]}\n"
                 f"{_graph_line(artifact)}"
                 f"  parity: {json.dumps(artifact.parity)}")


def _graph_line(artifact) -> str:
    """The graph's proxies where they were counted: params, MACs and the memory traffic of the deployed graph."""
    traffic = (artifact.facts or {}).get("graph_traffic") or {}
    parts = [f"params {artifact.params / 1e6:.2f} M" if artifact.params else None,
             f"MACs {artifact.macs / 1e9:.3f} G" if artifact.macs else None,
             f"memory traffic {traffic['memory_traffic'] / 1e6:.1f} MB (activations "
             f"{traffic['activation_bytes'] / 1e6:.1f}, weights {traffic['weight_bytes'] / 1e6:.1f}), "
             f"{traffic['graph_ops']} ops" if traffic else None]
    shown = [p for p in parts if p]
    return f"  graph: {', '.join(shown)}\n" if shown else ""


def _copy_to(path: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    dest = out / path.name
    if dest.exists():
        shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
    (shutil.copytree if path.is_dir() else shutil.copy2)(path, dest)
    return dest
