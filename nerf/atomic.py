"""Atomic output files: the project's one writer lives in ``devices.atomic`` (shared with the scene writer);
these names are kept for the nerf modules that import them from here."""

from devices.atomic import atomic_write_bytes, atomic_write_text, recover_leftovers, replace_when_done

__all__ = ["atomic_write_bytes", "atomic_write_text", "recover_leftovers", "replace_when_done"]
