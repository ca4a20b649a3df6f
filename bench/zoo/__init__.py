"""Model zoo: one registry (`register_model`), one door (`create_model`), one listing (`list_models`)."""

from bench.zoo.registry import ZooEntry, create_model, get_entry, list_models, register_model

__all__ = ["ZooEntry", "create_model", "get_entry", "list_models", "register_model"]
