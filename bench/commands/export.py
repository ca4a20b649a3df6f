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
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="onnx, coreml or tflite (default: onnx; tflite for TensorFlow models)."),
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
                 f"  parity: {json.dumps(artifact.parity)}")


def _copy_to(path: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    dest = out / path.name
    if dest.exists():
        shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
    (shutil.copytree if path.is_dir() else shutil.copy2)(path, dest)
    return dest
