"""LPIPS (VGG) from local weight files only; nothing is ever downloaded.

LPIPS (Zhang et al. 2018, v0.1): both images scaled to [-1, 1], shifted/scaled per channel, passed
through VGG16's conv layers; at relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3 the features are unit-
normalised along channels, their squared difference is weighted by a learned 1x1 layer, averaged
over the image, and the five values summed.

Weights: a folder (``--lpips-weights`` or the ``SPARSENERF_LPIPS_WEIGHTS`` variable) holding
``vgg16*.pth`` (torchvision's ImageNet VGG16 state dict, keys ``features.N.weight``) and ``vgg.pth``
(the LPIPS linear layers, keys ``linK.model.1.weight`` of shape [1, C, 1, 1]).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

ENV_VAR = "SPARSENERF_LPIPS_WEIGHTS"
_TAPS = (3, 8, 15, 22, 29)  # indices of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 in vgg16.features
_CHANNELS = (64, 128, 256, 512, 512)
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


def find_weights(path: str | Path | None) -> tuple[Path, Path] | None:
    """(vgg16 file, lpips linear file) from ``path`` or $SPARSENERF_LPIPS_WEIGHTS, or None when absent."""
    folder = path or os.environ.get(ENV_VAR)
    if not folder:
        return None
    folder = Path(folder)
    lin = folder / "vgg.pth"
    vggs = sorted(folder.glob("vgg16*.pth")) if folder.is_dir() else []
    if not lin.is_file() or not vggs:
        return None
    return vggs[0], lin


class LPIPS(nn.Module):
    """LPIPS-VGG distance; ``forward(a, b)`` takes float images [B, 3, H, W] in [0, 1] and gives [B]."""

    def __init__(self, vgg_path: Path, lin_path: Path):
        super().__init__()
        from torchvision.models import vgg16

        features = vgg16(weights=None).features[: _TAPS[-1] + 1]
        state = torch.load(vgg_path, map_location="cpu", weights_only=True)
        features.load_state_dict({k[len("features."):]: v for k, v in state.items()
                                  if k.startswith("features.") and int(k.split(".")[1]) <= _TAPS[-1]})
        self.features = features.eval()
        lin_state = torch.load(lin_path, map_location="cpu", weights_only=True)
        self.lins = nn.ParameterList([nn.Parameter(lin_state[f"lin{k}.model.1.weight"].reshape(1, c, 1, 1),
                                                  requires_grad=False) for k, c in enumerate(_CHANNELS)])
        self.register_buffer("shift", torch.tensor(_SHIFT).reshape(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).reshape(1, 3, 1, 1))
        self.requires_grad_(False)

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = ((2 * x - 1) - self.shift) / self.scale
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in _TAPS:
                out.append(x / (torch.sqrt((x * x).sum(1, keepdim=True)) + 1e-10))
        return out

    @torch.no_grad()
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        total = torch.zeros(a.shape[0], device=a.device)
        for fa, fb, w in zip(self._taps(a), self._taps(b), self.lins):
            total = total + ((fa - fb) ** 2 * w).sum(1).mean(dim=(1, 2))
        return total

    def distance(self, pred: np.ndarray, gt: np.ndarray) -> float:
        """LPIPS of two images [H, W, 3] in [0, 1]."""
        def t(img: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(img, np.float32)).permute(2, 0, 1)[None]
        return float(self(t(pred), t(gt))[0])


def load_lpips(path: str | Path | None) -> LPIPS | None:
    """LPIPS from local files, or None when the weights are not available (the report says so)."""
    found = find_weights(path)
    return LPIPS(*found) if found else None
