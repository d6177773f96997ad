"""Importers: recordings and captures from other tools -> our scene folder.

Each format registers an ``ImportFormat`` in ``REGISTRY`` (see ``registry.py``); ``detect_format``
picks one from the path, and ``sparsenerf import PATH OUT`` runs it.
"""

from devices.importers.registry import REGISTRY, ImportFormat, ImportOptions, detect_format, register

__all__ = ["REGISTRY", "ImportFormat", "ImportOptions", "detect_format", "register"]
