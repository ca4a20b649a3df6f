"""The foundation: errors, the record, protocols, config, measurement, options, registries, hashing.

Everything else (exporters/, devices/, the pipeline, commands) imports this; this imports nothing above it.
tests/test_layers.py holds the rule.
"""
