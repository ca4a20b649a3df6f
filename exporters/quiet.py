"""Converters (torch.onnx, litert-torch, coremltools, absl in C++) print progress and warnings on stdout and
stderr, from Python and from native code. Users asked for a latency, not that noise, and `--json` needs stdout
clean: capture both file descriptors into a log file, kept at debug level."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings

log = logging.getLogger("exporters")
NOISY_LOGGERS = ("coremltools", "litert_torch", "absl", "torch.onnx", "torch._export", "torch.export", "onnxscript")


@contextlib.contextmanager
def converter_output_captured():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as sink, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        saved = os.dup(1), os.dup(2)
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            with contextlib.redirect_stdout(sys.stderr):
                yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            sink.seek(0)
            text = sink.read().decode(errors="replace")
            if text.strip():
                log.debug("converter output:\n%s", text[-20000:])
            for w in caught:
                log.debug("converter warning: %s", w.message)
