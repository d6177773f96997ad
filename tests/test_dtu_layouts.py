"""DTU masks and the IDR / NeuS and authors' (Rectified + Calibration/cal18 + idrmasks) layouts, on small
folders built from the real scan24 files (a few views, so the tests stay quick)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from nerf.loaders import detect_layout, load_scene
from tests.conftest import shared_path

VIEWS = [22, 25, 28, 30]


@pytest.fixture(scope="module")
def scan24():
    root = shared_path("dtu_scan24")
    return root, load_scene(root, split="all")


def _uncrop(img: np.ndarray, interp=cv2.INTER_CUBIC) -> np.ndarray:
    """A 384x384 MonoSDF crop back to a 1600x1200 frame (the crop resized to 1200x1200, 200 px each side)."""
    big = cv2.resize(img, (1200, 1200), interpolation=interp)
    pad = ((0, 0), (200, 200)) + (((0, 0),) if img.ndim == 3 else ())
    return np.pad(big, pad)


def test_masks_load_with_the_scan(scan24):
    _, scene = scan24
    assert scene.masks is not None and scene.masks.shape == (49, 384, 384) and scene.masks.dtype == bool
    frac = scene.masks.mean(axis=(1, 2))
    assert np.all((frac > 0.05) & (frac < 0.95))  # an object, not the whole frame nor nothing


def _idr_folder(root, folder, views, image_dir: str, cameras: str, full_frame: bool = False) -> None:
    """An IDR / NeuS folder of scan24's ``views``: ``image_dir``/, mask/ and ``cameras``; ``full_frame``: DTU's own
    1600x1200 frames (the crop undone) instead of MonoSDF's 384x384 crop."""
    cams = np.load(root / "cameras.npz")
    (folder / image_dir).mkdir()
    (folder / "mask").mkdir()
    out = {}
    for k, v in enumerate(views):
        img, mask = cv2.imread(str(root / f"{v:06d}_rgb.png")), cv2.imread(str(root / f"{v:06d}_mask.png"))
        if full_frame:
            img, mask = _uncrop(img), _uncrop(mask, cv2.INTER_NEAREST)
        cv2.imwrite(str(folder / image_dir / f"{k:06d}.png"), img)
        cv2.imwrite(str(folder / "mask" / f"{k:03d}.png"), mask)
        out[f"world_mat_{k}"], out[f"scale_mat_{k}"] = cams[f"world_mat_{v}"], cams[f"scale_mat_{v}"]
    np.savez(folder / cameras, **out)


def test_idr_neus_layout(scan24, tmp_path):
    root, ref = scan24
    _idr_folder(root, tmp_path, VIEWS, "image", "cameras_sphere.npz")
    assert detect_layout(tmp_path) == "dtu_idr"
    scene = load_scene(tmp_path, split="all")
    assert scene.source == "dtu_idr" and scene.depths is None and scene.images.shape == (4, 384, 384, 3)
    np.testing.assert_allclose(scene.K, ref.K[VIEWS], rtol=1e-6, atol=1e-3)  # the skew is decomposition noise
    np.testing.assert_allclose(scene.c2w, ref.c2w[VIEWS], atol=1e-5)
    np.testing.assert_array_equal(scene.masks, ref.masks[VIEWS])
    np.testing.assert_allclose(scene.images, ref.images[VIEWS])


def test_authors_rectified_layout(scan24, tmp_path):
    root, ref = scan24
    cams = np.load(root / "cameras.npz")
    rect = tmp_path / "DTU" / "Rectified" / "scan24"
    cal = tmp_path / "DTU" / "Calibration" / "cal18"
    masks = tmp_path / "DTU" / "submission_data" / "idrmasks" / "scan24"
    for d in (rect, cal, masks):
        d.mkdir(parents=True)
    for v in VIEWS:
        cv2.imwrite(str(rect / f"rect_{v + 1:03d}_3_r5000.png"), _uncrop(cv2.imread(str(root / f"{v:06d}_rgb.png"))))
        cv2.imwrite(str(masks / f"{v:03d}.png"), _uncrop(cv2.imread(str(root / f"{v:06d}_mask.png")), cv2.INTER_NEAREST))
        np.savetxt(cal / f"pos_{v + 1:03d}.txt", cams[f"world_mat_{v}"][:3])  # DTU's P: IDR's world_mat
    assert detect_layout(rect) == "dtu_rectified"
    scene = load_scene(rect, split="all")
    assert scene.images.shape == (4, 300, 400, 3) and (scene.near, scene.far) == (0.5, 3.5)
    # intrinsics: the full-frame K / 4 (ours: the crop's K * 1200 / 384 / 4, cx shifted back by the crop)
    K = ref.K[VIEWS].copy()
    K[:, :2] *= 1200 / 384 / 4
    K[:, 0, 2] += 200 / 4
    np.testing.assert_allclose(scene.K, K, rtol=1e-4, atol=1e-3)
    # the same rig up to a similarity: relative rotations and camera-distance ratios agree
    def rel(c, a, b):
        return c[a, :3, :3].T @ c[b, :3, :3]

    for a, b in [(0, 1), (1, 3)]:
        np.testing.assert_allclose(rel(scene.c2w, a, b), rel(ref.c2w[VIEWS], a, b), atol=1e-5)
    d = lambda c, i, j: np.linalg.norm(c[i, :3, 3] - c[j, :3, 3])  # noqa: E731
    assert d(scene.c2w, 0, 1) / d(scene.c2w, 1, 3) == pytest.approx(d(ref.c2w[VIEWS], 0, 1) / d(ref.c2w[VIEWS], 1, 3), rel=1e-5)
    assert np.abs(scene.c2w[:, :3, 3]).max() == pytest.approx(1.0)
    # masks: back at 400x300 they match ours after the same crop (up to the resampling along the outline)
    crop = scene.masks[:, :, 50:350]
    ours = np.stack([cv2.resize(m.astype(np.uint8), (300, 300), interpolation=cv2.INTER_NEAREST) for m in ref.masks[VIEWS]])
    assert (crop == ours.astype(bool)).mean() > 0.98


def test_idr_layout_full_frames_images_folder_and_idr_cameras(scan24, tmp_path):
    """``images/`` + IDR's ``cameras.npz`` with DTU's own 1600x1200 frames: downscaled by 4, intrinsics as stored."""
    root, ref = scan24
    _idr_folder(root, tmp_path, VIEWS[:2], "images", "cameras.npz", full_frame=True)
    assert detect_layout(tmp_path) == "dtu_idr"
    scene = load_scene(tmp_path, split="all")
    assert scene.images.shape == (2, 300, 400, 3) and scene.masks.shape == (2, 300, 400)
    K = ref.K[VIEWS[:2]].copy()  # the crop's K back in the full frame, / 4
    K[:, :2] *= 1200 / 384 / 4
    K[:, 0, 2] += 200 / 4
    np.testing.assert_allclose(scene.K, K, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(scene.c2w, ref.c2w[VIEWS[:2]], atol=1e-5)  # the same unit-sphere frame
    crop = scene.masks[:, :, 50:350]
    ours = np.stack([cv2.resize(m.astype(np.uint8), (300, 300), interpolation=cv2.INTER_NEAREST)
                     for m in ref.masks[VIEWS[:2]]])
    assert (crop == ours.astype(bool)).mean() > 0.98


def test_idr_layout_refuses_a_mask_count_that_does_not_match(scan24, tmp_path):
    from devices.errors import InputError

    root, _ = scan24
    _idr_folder(root, tmp_path, VIEWS[:2], "image", "cameras_sphere.npz")
    (tmp_path / "mask" / "001.png").unlink()
    with pytest.raises(InputError, match="1 masks for 2 images") as err:
        load_scene(tmp_path)
    assert "mask" in str(err.value)


def _rectified(root, tmp_path, scan: str, masked: list[int], mask_sub: str = ""):
    cams = np.load(root / "cameras.npz")
    rect = tmp_path / "DTU" / "Rectified" / scan
    cal = tmp_path / "DTU" / "Calibration" / "cal18"
    masks = tmp_path / "DTU" / "submission_data" / "idrmasks" / scan / mask_sub
    for d in (rect, cal, masks):
        d.mkdir(parents=True, exist_ok=True)
    for v in VIEWS:
        cv2.imwrite(str(rect / f"rect_{v + 1:03d}_3_r5000.png"), _uncrop(cv2.imread(str(root / f"{v:06d}_rgb.png"))))
        np.savetxt(cal / f"pos_{v + 1:03d}.txt", cams[f"world_mat_{v}"][:3])
        if v in masked:
            mask = _uncrop(cv2.imread(str(root / f"{v:06d}_mask.png")), cv2.INTER_NEAREST)
            cv2.imwrite(str(masks / f"{v:03d}.png"), mask)
    return rect


def test_authors_layout_masks_of_some_views_only_and_the_mask_subfolder_scans(scan24, tmp_path):
    """The authors ship IDR masks for the test views only, and scans 40, 55, ... keep theirs in ``mask/``; a view
    without a mask gets no masked metrics (not its full-image ones under another name)."""
    from nerf.evaluate import evaluate
    from nerf.types import RenderResult

    root, _ = scan24
    rect = _rectified(root, tmp_path, "scan40", masked=[28, 30], mask_sub="mask")
    scene = load_scene(rect, split="all")
    assert scene.extra["masked_views"] == [2, 3]  # views 22, 25, 28, 30 in that order: 28 and 30 have masks
    assert scene.masks[:2].all() and not scene.masks[2:].all()

    def render(camera):
        h, w = scene.height, scene.width
        return RenderResult(np.zeros((h, w, 3), np.uint8), np.ones((h, w), np.float32), np.ones((h, w), np.float32),
                            camera, 0)

    report = evaluate(render, scene, view_ids=[0, 2])
    assert report.views[0].psnr_masked is None and report.views[0].ssim_masked is None
    assert report.views[1].psnr_masked is not None and report.views[1].psnr_masked != report.views[1].psnr


def test_authors_layout_without_the_calibration_folder_names_it(scan24, tmp_path):
    from devices.errors import InputError

    root, _ = scan24
    rect = _rectified(root, tmp_path, "scan24", masked=[])
    for p in (tmp_path / "DTU" / "Calibration" / "cal18").iterdir():
        p.unlink()
    (tmp_path / "DTU" / "Calibration" / "cal18").rmdir()
    with pytest.raises(InputError, match="Calibration/cal18"):
        load_scene(rect)
