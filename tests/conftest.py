"""Shared fixtures. Real data lives in ../shared/data; tests that need it skip with a reason when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SPARSENERF_DATA", ROOT.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """Path under ../shared/data; skips the calling test when it is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not found: {path} (set SPARSENERF_DATA to the shared data folder)")
    return path


@pytest.fixture
def shared_data():
    return shared_path


@pytest.fixture(scope="session")
def ray_cluster_session():
    """A real two-node Ray cluster on 127.0.0.1 (tests/ray_cluster.py), shared by the session's cluster tests."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[cluster]')")
    from tests.ray_cluster import start_cluster

    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.shutdown()


@pytest.fixture
def ray_cluster(ray_cluster_session, monkeypatch):
    """The shared cluster with both nodes alive and this process holding its token; disconnects at the end."""
    cluster = ray_cluster_session
    cluster.ensure_worker()
    monkeypatch.setenv("RAY_AUTH_TOKEN", cluster.token)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    yield cluster
    from app.cluster.connect import disconnect

    disconnect()


@pytest.fixture(scope="session")
def virtual_scenes(tmp_path_factory):
    """Three small virtual-sensor captures (64x48, 8 frames, 3 training views; different seeds)."""
    from devices.capture import record
    from devices.virtual import VirtualSensor, VirtualSensorConfig

    root = tmp_path_factory.mktemp("vscenes")
    out = []
    for seed in range(3):
        with VirtualSensor(VirtualSensorConfig(width=64, height=48, num_frames=8, seed=seed)) as source:
            record(source, root / f"scene{seed}", train_views=3)
        out.append(root / f"scene{seed}")
    return out
