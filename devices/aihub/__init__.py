"""Qualcomm AI Hub: real Snapdragon phones behind the same `bench run` (see devices/aihub/README.md).

client.py wraps the qai_hub client (imported only when a job is run), profile.py turns a profile into samples and
facts, target.py registers `aihub` and its shortcuts, importer.py collects a finished job by id.
"""
