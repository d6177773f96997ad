"""Loading DPT-Hybrid weights from a file the user gives (nothing is downloaded here).

The network's sizes are read from the state dict itself, so the official checkpoint and any
smaller model of the same architecture load through the same function.
"""

from __future__ import annotations

import re
from pathlib import Path

from devices.errors import InputError
from devices.mono_depth.dpt import DPTConfig, DPTHybrid

OFFICIAL_FILE = "dpt_hybrid-midas-501f0c75.pt"
WHERE_TO_GET = (f"download {OFFICIAL_FILE} from the MiDaS v3 release "
                "(https://github.com/isl-org/MiDaS/releases/tag/v3) and pass it with --weights FILE")
_VIT = "pretrained.model."
_STAGE_RE = re.compile(r"^pretrained\.model\.patch_embed\.backbone\.stages\.(\d+)\.blocks\.(\d+)\.")
_BLOCK_RE = re.compile(r"^pretrained\.model\.blocks\.(\d+)\.")


def read_state_dict(path: str | Path) -> dict:
    """The tensors of a checkpoint file: a plain state dict, or MiDaS's {"model": ..., "optimizer": ...}."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"weights file not found; {WHERE_TO_GET}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling error becomes one clear message
        raise InputError(path, f"cannot be read as a PyTorch checkpoint ({exc.__class__.__name__}); "
                               f"{WHERE_TO_GET}") from None
    if isinstance(obj, dict) and "model" in obj and "optimizer" in obj:
        obj = obj["model"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError(path, "is not a state dict of tensors (expected a DPT-Hybrid checkpoint)")
    return obj


def config_from_state_dict(state: dict, path: str | Path = "weights") -> DPTConfig:
    """Sizes of the network stored in ``state``; InputError when it is not a DPT-Hybrid state dict.

    Heads are ``embed_dim / 64`` (the ViT convention); the two tapped blocks are ``depth - 4`` and
    ``depth - 1`` (8 and 11 for the official 12 blocks).
    """
    needed = (f"{_VIT}pos_embed", f"{_VIT}patch_embed.backbone.stem.conv.weight", "scratch.layer1_rn.weight",
              "scratch.output_conv.2.weight")
    missing = [k for k in needed if k not in state]
    if missing:
        raise InputError(path, f"is not a DPT-Hybrid checkpoint (no {missing[0]}); {WHERE_TO_GET}")
    stages: dict[int, int] = {}
    blocks: set[int] = set()
    for key in state:
        if m := _STAGE_RE.match(key):
            stages[int(m.group(1))] = max(stages.get(int(m.group(1)), 0), int(m.group(2)) + 1)
        if m := _BLOCK_RE.match(key):
            blocks.add(int(m.group(1)))
    if sorted(stages) != [0, 1, 2] or not blocks:
        raise InputError(path, "is not a DPT-Hybrid checkpoint (expected a 3-stage ResNet and ViT blocks)")
    pos = state[f"{_VIT}pos_embed"]
    embed, grid = int(pos.shape[-1]), round((pos.shape[1] - 1) ** 0.5)
    depth = max(blocks) + 1
    channels = tuple(
        int(state[f"{_VIT}patch_embed.backbone.stages.{s}.blocks.0.conv3.weight"].shape[0]) for s in range(3)
    )
    return DPTConfig(
        embed_dim=embed, depth=depth, num_heads=max(1, embed // 64),
        resnet_layers=(stages[0], stages[1], stages[2]), resnet_channels=channels,  # type: ignore[arg-type]
        stem_channels=int(state[f"{_VIT}patch_embed.backbone.stem.conv.weight"].shape[0]),
        features=int(state["scratch.layer1_rn.weight"].shape[0]),
        head_features=int(state["scratch.output_conv.2.weight"].shape[0]),
        hooks=(max(depth - 4, 0), depth - 1), image_size=16 * grid,
    )


def load_dpt(path: str | Path) -> DPTHybrid:
    """A DPT-Hybrid network with the weights of ``path``, in eval mode. InputError for a wrong file."""
    state = read_state_dict(path)
    model = DPTHybrid(config_from_state_dict(state, path))
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # a tensor of the wrong shape
        first = str(exc).strip().splitlines()[-1].strip()
        raise InputError(path, f"does not match DPT-Hybrid ({first})") from None
    if result.missing_keys or result.unexpected_keys:
        raise InputError(path, f"does not match DPT-Hybrid: {len(result.missing_keys)} missing keys "
                               f"(e.g. {result.missing_keys[:1]}), {len(result.unexpected_keys)} unexpected "
                               f"(e.g. {result.unexpected_keys[:1]})")
    return model.eval()
