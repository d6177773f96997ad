"""DPT-Hybrid monocular depth: official key names, MiDaS preprocessing, and a small random model saved to
a file and loaded through the user's path, writing inverse depth into a scene folder of real DTU images.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from app.cli import main
from devices.errors import InputError
from devices.frame import DepthKind, Frame
from devices.mono_depth.dpt import DPT_HYBRID, DPTConfig, DPTHybrid
from devices.mono_depth.estimate import MonoDepth, add_mono_depth, network_size, prepare
from devices.mono_depth.weights import config_from_state_dict, load_dpt
from devices.scene_folder import read_scene
from devices.scene_writer import SceneWriter
from tests.conftest import shared_path

# Same architecture, tiny sizes (GroupNorm needs channel counts that are multiples of 32).
SMALL = DPTConfig(embed_dim=64, depth=2, num_heads=1, resnet_layers=(1, 1, 1), resnet_channels=(128, 128, 128),
                  stem_channels=32, features=16, head_features=8, hooks=(0, 1), image_size=64)
NET = 64  # network input side used in these tests (the product default is 384)


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "small_dpt.pt"
    torch.save(DPTHybrid(SMALL).state_dict(), path)
    return path


@pytest.fixture
def rgb_scene(tmp_path) -> Path:
    """A colour-only scene folder of three real DTU views (downscaled to 96x96), no depth."""
    dtu = shared_path("dtu_scan24")
    root = tmp_path / "scene"
    K = np.array([[100.0, 0, 48], [0, 100.0, 48], [0, 0, 1]])
    with SceneWriter(root, sensor="llff", depth_kind=DepthKind.INVERSE, ranking_window=(30, 30)) as w:
        for k, view in enumerate((22, 25, 28)):
            bgr = cv2.imread(str(dtu / f"{view:06d}_rgb.png"))
            rgb = cv2.cvtColor(cv2.resize(bgr, (96, 96), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
            c2w = np.eye(4)
            c2w[0, 3] = 0.1 * k
            w.add(Frame(rgb=rgb, depth=None, K=K, c2w=c2w, depth_kind=DepthKind.INVERSE))
        w.set_split([0, 2], [1])
    return root


def test_full_size_model_uses_official_key_names():
    with torch.device("meta"):
        state = DPTHybrid(DPT_HYBRID).state_dict()
    expected = {  # key -> shape, from MiDaS dpt_depth.py / blocks.py / backbones/vit.py (dpt_hybrid)
        "pretrained.model.patch_embed.backbone.stem.conv.weight": (64, 3, 7, 7),
        "pretrained.model.patch_embed.backbone.stages.2.blocks.8.conv3.weight": (1024, 256, 1, 1),
        "pretrained.model.patch_embed.proj.weight": (768, 1024, 1, 1),
        "pretrained.model.pos_embed": (1, 577, 768),  # class token + 24 x 24
        "pretrained.model.blocks.11.attn.qkv.weight": (2304, 768),
        "pretrained.act_postprocess3.0.project.0.weight": (768, 1536),
        "pretrained.act_postprocess4.4.weight": (768, 768, 3, 3),
        "scratch.layer1_rn.weight": (256, 256, 3, 3),
        "scratch.layer2_rn.weight": (256, 512, 3, 3),
        "scratch.layer4_rn.weight": (256, 768, 3, 3),
        "scratch.refinenet4.resConfUnit1.conv1.weight": (256, 256, 3, 3),
        "scratch.refinenet1.out_conv.weight": (256, 256, 1, 1),
        "scratch.output_conv.0.weight": (128, 256, 3, 3),
        "scratch.output_conv.2.weight": (32, 128, 3, 3),
        "scratch.output_conv.4.weight": (1, 32, 1, 1),
    }
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, key
    assert not any(k.startswith("pretrained.act_postprocess1") for k in state)  # ResNet stages: no weights
    assert config_from_state_dict(state) == DPT_HYBRID


@pytest.mark.parametrize(
    "size, expected",
    [
        ((504, 378), (512, 384)),  # LLFF 1/8: height is nearer scale 1 -> short side 384
        ((4032, 3024), (512, 384)),
        ((320, 240), (384, 288)),  # smaller than 384: the scale closest to 1 fits the width
        ((384, 384), (384, 384)),
        ((1000, 300), (1280, 384)),
    ],
)
def test_network_size(size, expected):
    assert network_size(*size) == expected


def test_prepare_normalises_to_minus_one_one():
    img = np.zeros((378, 504, 3), np.uint8)
    img[:, 252:] = 255
    x = prepare(img)
    assert x.shape == (1, 3, 384, 512) and x.dtype == np.float32
    assert x[0, :, :, :200].max() == pytest.approx(-1.0) and x[0, :, :, 320:].min() == pytest.approx(1.0)


def test_small_model_loads_from_file_like_a_users(weights):
    model = load_dpt(weights)
    assert model.config == SMALL and not model.training
    with torch.no_grad():
        out = model(torch.from_numpy(prepare(np.full((48, 72, 3), 90, np.uint8), NET)))
    # 72x48 at target 64: width scale 0.89 is nearer 1 -> 64 x 42.7 -> multiples of 32: 64 x 32
    assert out.shape == (1, 32, 64)
    assert torch.isfinite(out).all() and (out >= 0).all()


def test_add_mono_depth_writes_inverse_depth(rgb_scene, weights):
    calls = []
    add_mono_depth(rgb_scene, weights, net_size=NET, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    scene = read_scene(rgb_scene)
    assert scene.depth_kind is DepthKind.INVERSE and scene.has_depth
    assert scene.extra["depth_source"] == "dpt_hybrid"
    assert (scene.train_ids, scene.test_ids) == ([0, 2], [1])
    est = MonoDepth(weights, net_size=NET)
    for i in range(3):
        depth = scene.load_depth(i)
        assert depth.shape == (96, 96) and np.all(np.isfinite(depth)) and np.all(depth > 0)
        pred = est.predict(scene.load_rgb(i))
        assert np.all(pred >= 0)
        # stored = prediction, with exact zeros lifted to one 16-bit step, quantised by the frame's scale
        step = scene.frames[i].depth_scale
        np.testing.assert_allclose(depth, np.maximum(pred, pred.max() / 65535), atol=step)
    assert not [p for p in rgb_scene.iterdir() if p.name.startswith(".depth")]


def test_scene_feeds_the_nerf_loader(rgb_scene, weights):
    loaders = pytest.importorskip("nerf.loaders")
    if not hasattr(loaders, "load_scene"):
        pytest.skip("nerf.loaders.load_scene has not landed yet")
    add_mono_depth(rgb_scene, weights, net_size=NET)
    scene = loaders.load_scene(rgb_scene)
    assert scene.depth_kind is DepthKind.INVERSE
    assert scene.depths is not None and scene.depths.shape == (3, 96, 96) and np.all(scene.depths > 0)


def test_cli_depth(rgb_scene, weights, capsys):
    assert main(["depth", str(rgb_scene), "--weights", str(weights)]) == 0  # default 384 input
    assert "wrote monocular inverse depth for 3 frames" in capsys.readouterr().out
    assert read_scene(rgb_scene).has_depth


def test_missing_weights_says_where_to_get_them(rgb_scene, capsys):
    before = (rgb_scene / "transforms.json").read_bytes()
    assert main(["depth", str(rgb_scene), "--weights", str(rgb_scene / "nope.pt")]) == 2
    err = capsys.readouterr().err
    assert "dpt_hybrid-midas-501f0c75.pt" in err and "github.com/isl-org/MiDaS/releases" in err
    assert len(err.strip().splitlines()) == 1
    assert (rgb_scene / "transforms.json").read_bytes() == before and not any((rgb_scene / "depth").iterdir())


def test_wrong_weights_files(rgb_scene, weights, tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot be read as a PyTorch checkpoint"):
        add_mono_depth(rgb_scene, garbage)
    state = torch.load(weights, weights_only=True)
    del state["scratch.refinenet2.out_conv.bias"]
    torch.save(state, tmp_path / "partial.pt")
    with pytest.raises(InputError, match="1 missing keys"):
        add_mono_depth(rgb_scene, tmp_path / "partial.pt")
    torch.save({"model": {"a": torch.zeros(1)}, "optimizer": {}}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="not a DPT-Hybrid checkpoint"):
        add_mono_depth(rgb_scene, tmp_path / "other.pt")
    assert json.loads((rgb_scene / "transforms.json").read_text())["frames"][0].get("depth_file_path") is None


def test_scene_with_depth_needs_overwrite(rgb_scene, weights):
    add_mono_depth(rgb_scene, weights, net_size=NET)
    first = read_scene(rgb_scene).load_depth(0)
    with pytest.raises(InputError, match="already has inverse depth"):
        add_mono_depth(rgb_scene, weights, net_size=NET)
    add_mono_depth(rgb_scene, weights, net_size=NET, overwrite=True)
    np.testing.assert_allclose(read_scene(rgb_scene).load_depth(0), first, rtol=1e-3)
    assert sorted(p.name for p in (rgb_scene / "depth").iterdir()) == ["000000.png", "000001.png", "000002.png"]
