"""Monocular depth (DPT-Hybrid, SparseNeRF's prior) for scenes that have no depth sensor.

``add_mono_depth(scene, weights)`` writes relative inverse depth (DepthKind.INVERSE) into a scene
folder; ``sparsenerf depth SCENE --weights FILE`` runs it. torch and timm are imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devices.mono_depth.estimate import MonoDepth, add_mono_depth

__all__ = ["MonoDepth", "add_mono_depth"]


def __getattr__(name: str):
    if name in __all__:
        from devices.mono_depth import estimate

        return getattr(estimate, name)
    raise AttributeError(name)
