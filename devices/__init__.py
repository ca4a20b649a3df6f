"""Targets: where a model runs. One registry (`register_target`), one door (`get_target`).

A target declares the (format, precision) pairs it runs and how it measures them; the CLI asks the registry and
never switches on target names. Host drivers live here; code that runs on phones lives in ios_app/ and
android_runner/.
"""

from devices.registry import Measurement, Target, get_target, list_targets, register_target

__all__ = ["Measurement", "Target", "get_target", "list_targets", "register_target"]
