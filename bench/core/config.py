"""The user's config file: settings that belong to a machine, not a command (device binaries, signing team).

$BENCH_CONFIG or ~/.config/bench/config.toml, e.g.

    [android]
    benchmark_model = "/opt/tflite/android_aarch64_benchmark_model"

    [ios]
    team = "ABCDE12345"
    bundle_id = "org.example.benchapp"
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from bench.core.errors import InputDataError


def config_path() -> Path:
    return Path(os.environ.get("BENCH_CONFIG") or Path.home() / ".config" / "bench" / "config.toml")


def load_config() -> dict:
    path = config_path()
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InputDataError(f"config {path} is not valid TOML ({exc})") from None


def setting(section: str, key: str, env: str | None = None):
    """An environment variable wins over the config file."""
    if env and os.environ.get(env):
        return os.environ[env]
    return load_config().get(section, {}).get(key)
