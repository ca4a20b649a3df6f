"""A target set up on a cluster node that lacks it (`--ray`): its preflight passes, or its set-up script runs, once
per node under a file lock beside the node's artifact cache, or one line says why it cannot."""

from __future__ import annotations

import os
from pathlib import Path

from bench.core.errors import BenchError

NODE_SETUP_ENV = "BENCH_NODE_SETUP"
SETUP_TIMEOUT_S = 3600


def node_setup(target, options: dict) -> None:
    """The target ready to run on this node: its preflight passes, or its set-up script (`target.setup_script`,
    idempotent and cached, root) runs once under a lock; else one line saying why not. BENCH_NODE_SETUP=0 on a
    node keeps it from setting anything up itself."""
    try:
        target.preflight(options)
        return
    except BenchError as missing:
        script = getattr(target, "setup_script", None)
        if os.environ.get(NODE_SETUP_ENV, "1") == "0":
            raise BenchError(f"{missing}; this node does not set targets up itself ({NODE_SETUP_ENV}=0)") from None
        if script is None or not Path(script).is_file():
            raise BenchError(f"{missing}; this node cannot set {target.name} up itself") from None
        if os.geteuid() != 0:
            raise BenchError(f"{missing}; setting it up needs root, and this node's Ray runs as uid "
                             f"{os.geteuid()}") from None
    _run_setup(target, Path(script), options)


def _run_setup(target, script: Path, options: dict) -> None:
    import fcntl
    import subprocess

    from bench.artifact.entry import lock_path

    with open(lock_path(f"setup-{target.name}"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one set-up per node; the others wait for it, then find it there
        try:
            target.preflight(options)
            return
        except BenchError:
            pass
        done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=SETUP_TIMEOUT_S)
    if done.returncode != 0:
        tail = [line for line in done.stderr.splitlines() if line.strip()][-1:] or ["no output"]
        raise BenchError(f"the {target.name} set-up ({script}) failed on this node: {tail[0][:200]}")
    target.preflight(options)
