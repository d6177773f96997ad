"""Radiance fields behind one interface (``base.Field``): ``mipnerf`` (faithful) and ``fast`` (grid)."""
