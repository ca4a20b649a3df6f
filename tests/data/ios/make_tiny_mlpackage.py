"""Writes tiny_conv.mlpackage and tiny_two_inputs.mlpackage: real Core ML packages made by coremltools the way
exporters/coreml_export.py makes them (torch.jit.trace, MLProgram, float16 I/O, FP16 compute, iOS 16), from nets
small enough to commit. tests/test_ios.py reads them with coremltools blocked, to test the reader a Mac without
coremltools uses. Re-run from the repository root: .venv/bin/python tests/data/ios/make_tiny_mlpackage.py
"""

from pathlib import Path

import numpy as np
import torch
import torch._dynamo  # noqa: F401  before coremltools pulls in TensorFlow: the other order segfaults here

import coremltools as ct

HERE = Path(__file__).resolve().parent


class TinyConv(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


class TwoInputs(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, image, bias):
        return self.conv(image).mean(dim=(2, 3)) + bias


def convert(model, examples, names, out):
    torch.manual_seed(0)
    traced = torch.jit.trace(model.eval(), examples)
    mlmodel = ct.convert(
        traced,
        inputs=[ct.TensorType(name=n, shape=tuple(e.shape), dtype=np.float16) for n, e in zip(names, examples)],
        outputs=[ct.TensorType(name="output", dtype=np.float16)],
        convert_to="mlprogram",
        compute_precision=ct.precision.FLOAT16,
        minimum_deployment_target=ct.target.iOS16,
    )
    mlmodel.save(str(HERE / out))


if __name__ == "__main__":
    torch.manual_seed(0)
    convert(TinyConv(), (torch.randn(1, 3, 40, 40),), ["input"], "tiny_conv.mlpackage")
    convert(TwoInputs(), (torch.randn(1, 3, 32, 32), torch.randn(1, 8)), ["image", "bias"], "tiny_two_inputs.mlpackage")
