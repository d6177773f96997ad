"""DPT-Hybrid (Ranftl et al., "Vision Transformers for Dense Prediction", 2021), the monocular depth
network SparseNeRF uses as its prior for LLFF and DTU, written on timm's hybrid ViT.

Module names follow the official MiDaS ``dpt_hybrid`` checkpoint so its state dict loads as-is:

    pretrained.model                 timm ``vit_base_r50_s16_384``: ResNet-50 stem + 3 stages, ViT-B/16
    pretrained.act_postprocess3/4    reassemble of transformer blocks 8 and 11 (readout "project")
    scratch.layer{1..4}_rn           3x3 convs to the fusion width (no bias)
    scratch.refinenet{1..4}          fusion blocks (resConfUnit1/2, out_conv)
    scratch.output_conv              the depth head; its last ReLU makes the output non-negative

Reassembled inputs: layers 1 and 2 are the ResNet's first two stages (1/4 and 1/8 resolution),
layer 3 the tokens of block ``hooks[0]`` at 1/16, layer 4 those of block ``hooks[1]`` at 1/32.
The output is relative inverse depth (larger = nearer) at the input resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class DPTConfig:
    """Sizes of a DPT-Hybrid network. The defaults are the official ``dpt_hybrid`` model."""

    embed_dim: int = 768
    """Transformer token width (ViT-B: 768)."""
    depth: int = 12
    """Number of transformer blocks."""
    num_heads: int = 12
    """Attention heads (ViT convention: embed_dim / 64)."""
    resnet_layers: tuple[int, int, int] = (3, 4, 9)
    """Bottleneck blocks in each of the three ResNet stages."""
    resnet_channels: tuple[int, int, int] = (256, 512, 1024)
    """Output channels of the three ResNet stages."""
    stem_channels: int = 64
    """Channels of the ResNet stem convolution."""
    features: int = 256
    """Width of the fusion (refinenet) path."""
    head_features: int = 32
    """Hidden channels of the depth head before its 1-channel output."""
    hooks: tuple[int, int] = (8, 11)
    """Transformer blocks whose tokens become layers 3 and 4."""
    image_size: int = 384
    """Training resolution: the position embedding covers (image_size / 16)^2 tokens."""


DPT_HYBRID = DPTConfig()


def build_vit_hybrid(cfg: DPTConfig) -> nn.Module:
    """timm's hybrid ViT (``vit_base_r50_s16_384`` for the default config), randomly initialised."""
    import timm
    from timm.layers import HybridEmbed, StdConv2dSame
    from timm.models.resnetv2 import ResNetV2
    from timm.models.vision_transformer import VisionTransformer

    if cfg == DPT_HYBRID:
        return timm.create_model("vit_base_r50_s16_384", pretrained=False)
    # The same construction as timm's registered model, with the sizes of ``cfg``.
    backbone = ResNetV2(layers=list(cfg.resnet_layers), channels=cfg.resnet_channels, stem_chs=cfg.stem_channels,
                        num_classes=0, global_pool="", preact=False, stem_type="same",
                        conv_layer=partial(StdConv2dSame, eps=1e-8))
    return VisionTransformer(img_size=cfg.image_size, patch_size=1, embed_dim=cfg.embed_dim, depth=cfg.depth,
                             num_heads=cfg.num_heads, embed_layer=partial(HybridEmbed, backbone=backbone))


class ProjectReadout(nn.Module):
    """Concatenate each patch token with the class token and project back: [B, 1+N, C] -> [B, N, C]."""

    def __init__(self, dim: int):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(2 * dim, dim), nn.GELU())

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        readout = tokens[:, :1].expand(-1, tokens.shape[1] - 1, -1)
        return self.project(torch.cat([tokens[:, 1:], readout], dim=-1))


class Reassemble(nn.Sequential):
    """Tokens -> feature map. Index 0 readout, 1-2 reshape (no weights), 3 1x1 conv, 4 optional resample.

    The indices match the official checkpoint's ``act_postprocess{3,4}.{0,3,4}`` keys.
    """

    def __init__(self, dim: int, out: int, downsample: bool):
        layers: list[nn.Module] = [ProjectReadout(dim), nn.Identity(), nn.Identity(), nn.Conv2d(dim, out, 1)]
        if downsample:
            layers.append(nn.Conv2d(out, out, 3, stride=2, padding=1))
        super().__init__(*layers)

    def forward(self, tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:  # type: ignore[override]
        x = self[0](tokens)  # [B, N, C]
        x = x.transpose(1, 2).reshape(x.shape[0], x.shape[2], grid[0], grid[1])
        for layer in list(self)[3:]:
            x = layer(x)
        return x


class ResidualConvUnit(nn.Module):
    """x + conv2(relu(conv1(relu(x)))), 3x3 convolutions with bias."""

    def __init__(self, features: int):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class FeatureFusion(nn.Module):
    """Add a refined skip input, refine, upsample (bilinear, align_corners) to ``size`` or x2, 1x1 conv."""

    def __init__(self, features: int):
        super().__init__()
        self.out_conv = nn.Conv2d(features, features, 1)
        self.resConfUnit1 = ResidualConvUnit(features)
        self.resConfUnit2 = ResidualConvUnit(features)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None,
                size: tuple[int, int] | None = None) -> torch.Tensor:
        if skip is not None:
            x = x + self.resConfUnit1(skip)
        x = self.resConfUnit2(x)
        if size is None:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
        else:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=True)
        return self.out_conv(x)


class Upsample2x(nn.Module):
    """Bilinear x2 (align_corners), a weightless step of the head."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)


def _head(features: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(features, features // 2, 3, padding=1),
        Upsample2x(),
        nn.Conv2d(features // 2, hidden, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(hidden, 1, 1),
        nn.ReLU(),  # non-negative inverse depth
        nn.Identity(),
    )


class DPTHybrid(nn.Module):
    """DPT-Hybrid depth network: image [B, 3, H, W] (H, W multiples of 32) -> inverse depth [B, H, W] >= 0."""

    def __init__(self, config: DPTConfig = DPT_HYBRID):
        super().__init__()
        self.config = c = config
        self.pretrained = nn.Module()
        self.pretrained.model = build_vit_hybrid(c)
        self.pretrained.act_postprocess3 = Reassemble(c.embed_dim, c.embed_dim, downsample=False)
        self.pretrained.act_postprocess4 = Reassemble(c.embed_dim, c.embed_dim, downsample=True)
        self.scratch = nn.Module()
        for i, cin in enumerate((c.resnet_channels[0], c.resnet_channels[1], c.embed_dim, c.embed_dim), start=1):
            setattr(self.scratch, f"layer{i}_rn", nn.Conv2d(cin, c.features, 3, padding=1, bias=False))
        for i in range(1, 5):
            setattr(self.scratch, f"refinenet{i}", FeatureFusion(c.features))
        self.scratch.output_conv = _head(c.features, c.head_features)

    def _pos_embed(self, grid: tuple[int, int]) -> torch.Tensor:
        """The learned position embedding resized bilinearly to ``grid`` tokens: [1, 1 + gh * gw, C]."""
        pos = self.pretrained.model.pos_embed
        cls_pos, grid_pos = pos[:, :1], pos[0, 1:]
        old = int(math.sqrt(grid_pos.shape[0]))
        grid_pos = grid_pos.reshape(1, old, old, -1).permute(0, 3, 1, 2)
        grid_pos = F.interpolate(grid_pos, size=grid, mode="bilinear", align_corners=False)
        return torch.cat([cls_pos, grid_pos.permute(0, 2, 3, 1).reshape(1, grid[0] * grid[1], -1)], dim=1)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The four multi-scale feature maps at 1/4, 1/8, 1/16 and 1/32 of the input."""
        vit = self.pretrained.model
        backbone = vit.patch_embed.backbone
        layer1 = backbone.stages[0](backbone.stem(x))
        layer2 = backbone.stages[1](layer1)
        feat = backbone.norm(backbone.stages[2](layer2))
        feat = vit.patch_embed.proj(feat)  # [B, C, H/16, W/16]
        grid = (feat.shape[2], feat.shape[3])
        tokens = torch.cat([vit.cls_token.expand(x.shape[0], -1, -1), feat.flatten(2).transpose(1, 2)], dim=1)
        tokens = vit.norm_pre(vit.pos_drop(tokens + self._pos_embed(grid)))
        taps = {}
        for i, block in enumerate(vit.blocks[: max(self.config.hooks) + 1]):
            tokens = block(tokens)
            if i in self.config.hooks:
                taps[i] = tokens
        layer3 = self.pretrained.act_postprocess3(taps[self.config.hooks[0]], grid)
        layer4 = self.pretrained.act_postprocess4(taps[self.config.hooks[1]], grid)
        return layer1, layer2, layer3, layer4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.scratch
        l1, l2, l3, l4 = self.encode(x)
        l1, l2, l3, l4 = s.layer1_rn(l1), s.layer2_rn(l2), s.layer3_rn(l3), s.layer4_rn(l4)
        path = s.refinenet4(l4, size=tuple(l3.shape[2:]))
        path = s.refinenet3(path, l3, size=tuple(l2.shape[2:]))
        path = s.refinenet2(path, l2, size=tuple(l1.shape[2:]))
        path = s.refinenet1(path, l1)
        return s.output_conv(path).squeeze(1)
