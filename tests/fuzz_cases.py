"""Property-based fuzzing of input files through the CLI's own entry point (``app.cli.main``), shared by
``tests/test_fuzz_inputs.py`` (a short, derandomised run in CI) and ``benchmarks/fuzz_inputs.py`` (a larger
random run, recorded in benchmarks/RESULTS.md).

Every case writes one mutated input and runs the command that consumes it. The property: the command
either succeeds with a correct output (a scene that reads back, strict JSON with no NaN, a finite run) or
exits 2 with ONE ``error:`` line; it never raises (a traceback), and a failure leaves no output and no
hidden staging folder. ``OUTCOMES`` counts what happened, per input kind.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

from app.cli import main

OUTCOMES: Counter = Counter()
"""(kind, "ok" | "error") -> count, over every case run in this process."""

NASTY = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 1, 1e30, -1e30, 1e300, 1e-300, float("nan"), float("inf"),
                     float("-inf"), "", "abc", "../x", "/etc/hostname", [], [0, 0], [1], {}, {"a": 1}, 2**64]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.text(max_size=6),
    st.lists(st.one_of(st.integers(-5, 5), st.floats(-10, 10)), max_size=4),
)
"""Values put in place of a field: wrong types, out of range, non-finite, paths out of the folder."""


def _strict_json(path: Path) -> None:
    def refuse(const: str) -> Any:
        raise AssertionError(f"{path}: bare {const} is not JSON")

    json.loads(path.read_text(), parse_constant=refuse)


def check_command(kind: str, argv: list[Any], out: Path) -> int:
    """Run ``sparsenerf ARGV``; assert the property above for the output ``out`` (a folder). Returns the status."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main([str(a) for a in argv])
    lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
    assert status in (0, 2), (status, lines[-3:])
    assert not any("Traceback" in ln for ln in lines), lines
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]
    assert not leftovers, f"staging left behind: {leftovers}"
    if status == 2:
        assert lines and lines[-1].startswith("error: "), lines[-3:]
        assert not out.exists() or not (out / "run.json").exists() and not (out / "transforms.json").exists(), \
            f"{out} left behind after an error"
        OUTCOMES[kind, "error"] += 1
        return status
    if (out / "transforms.json").exists():
        from devices.scene_folder import read_scene

        _strict_json(out / "transforms.json")
        scene = read_scene(out)
        assert len(scene) > 0
    if (out / "run.json").exists():
        records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
        last = records[-1]
        psnr = last.get("test_psnr") if last.get("test_psnr") is not None else last.get("train_psnr")
        assert psnr is None or math.isfinite(psnr), f"run finished with PSNR {psnr}"
    OUTCOMES[kind, "ok"] += 1
    return status


def json_paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path of a JSON document (to objects, lists and leaves)."""
    paths = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            paths += json_paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):  # the first few items of long lists are enough
            paths += json_paths(v, prefix + (i,))
    return paths


@st.composite
def json_mutation(draw, doc: Any) -> Any:
    """``doc`` with 1-3 fields replaced by NASTY values or deleted."""
    doc = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(1, 3))):
        paths = json_paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        node = doc
        for key in path[:-1]:
            node = node[key]
        if draw(st.booleans()) and draw(st.booleans()) and isinstance(node, dict):
            del node[path[-1]]
        else:
            node[path[-1]] = draw(NASTY)
    return doc


def byte_mutation(data: bytes, head: int | None = None) -> st.SearchStrategy[bytes]:
    """``data`` with a few bytes flipped (within the first ``head`` bytes when given) or cut short."""
    limit = len(data) if head is None else min(head, len(data))

    @st.composite
    def mutate(draw) -> bytes:
        buf = bytearray(data)
        if draw(st.integers(0, 3)) == 0:
            return bytes(buf[: draw(st.integers(0, len(buf) - 1))])
        for _ in range(draw(st.integers(1, 8))):
            pos = draw(st.integers(0, limit - 1))
            buf[pos] ^= draw(st.integers(1, 255))
        return bytes(buf)

    return mutate()


# ----------------------------------------------------------------------------------------- case runners
def fresh_dir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="sparsenerf-fuzz-")


def run_transforms_case(scene: Path, doc: Any) -> int:
    """Train 1 step on a copy of ``scene`` whose transforms.json is ``doc``."""
    with fresh_dir() as tmp:
        folder = shutil.copytree(scene, Path(tmp) / "scene")
        (folder / "transforms.json").write_text(json.dumps(doc))
        return check_command("transforms.json", ["train", folder, "--out", Path(tmp) / "run", "--steps", "1",
                                                 "--batch-rays", "64"], Path(tmp) / "run")


def run_import_case(kind: str, make_source) -> int:
    """``sparsenerf import SOURCE OUT --no-poses`` where ``make_source(tmp)`` writes SOURCE."""
    with fresh_dir() as tmp:
        source = make_source(Path(tmp))
        out = Path(tmp) / "out"
        return check_command(kind, ["import", source, out, "--no-poses"], out)


def run_mkv_case(data: bytes) -> int:
    def make(tmp: Path) -> Path:
        (tmp / "rec.mkv").write_bytes(data)
        return tmp / "rec.mkv"

    return run_import_case("kinect .mkv", make)


def run_r3d_case(base: Path, metadata: Any) -> int:
    def make(tmp: Path) -> Path:
        path = tmp / "rec.r3d"
        with zipfile.ZipFile(base) as src, zipfile.ZipFile(path, "w") as dst:
            for name in src.namelist():
                dst.writestr(name, json.dumps(metadata) if name == "metadata" else src.read(name))
        return path

    return run_import_case(".r3d metadata", make)


def run_polycam_case(base: Path, camera: Any) -> int:
    def make(tmp: Path) -> Path:
        root = shutil.copytree(base, tmp / "export")
        first = sorted((root / "keyframes" / "corrected_cameras").glob("*.json"))[0]
        first.write_text(json.dumps(camera))
        return root

    return run_import_case("polycam camera", make)


def run_stray_case(base: Path, name: str, data: bytes) -> int:
    def make(tmp: Path) -> Path:
        root = shutil.copytree(base, tmp / "stray")
        (root / name).write_bytes(data)
        return root

    return run_import_case("stray csv", make)


def run_poses_bounds_case(base: Path, array: np.ndarray) -> int:
    with fresh_dir() as tmp:
        root = shutil.copytree(base, Path(tmp) / "llff")
        np.save(root / "poses_bounds.npy", array)
        return check_command("poses_bounds.npy", ["train", root, "--out", Path(tmp) / "run", "--steps", "1",
                                                  "--batch-rays", "64"], Path(tmp) / "run")


def poses_bounds_arrays(good: np.ndarray) -> st.SearchStrategy[np.ndarray]:
    """``good`` [N, 17] with entries replaced by extreme values, rows dropped, or another shape / dtype."""
    extreme = st.sampled_from([0.0, -1.0, 1e-30, 1e30, 1e300, float("nan"), float("inf"), -float("inf")])

    @st.composite
    def mutate(draw) -> np.ndarray:
        arr = good.copy()
        choice = draw(st.integers(0, 5))
        if choice == 0:
            return arr[: draw(st.integers(0, len(arr)))]
        if choice == 1:
            return arr.reshape(-1)[: draw(st.integers(0, arr.size))]
        if choice == 2:
            return arr.astype(draw(st.sampled_from(["float16", "int8", "uint8", "complex64", "bool", "U3"])))
        for _ in range(draw(st.integers(1, 4))):
            arr[draw(st.integers(0, len(arr) - 1)), draw(st.integers(0, 16))] = draw(extreme)
        return arr

    return mutate()


# ----------------------------------------------------------------------------------------- the properties
def build_inputs(base: Path) -> dict[str, Any]:
    """The good inputs every property mutates, written under ``base`` (needs the shared real data)."""
    from tests.iphone_samples import r3d_metadata, tum_frames, write_polycam, write_r3d, write_stray
    from tests.kinect_samples import write_recording
    from tests.test_cli_bad_input import capture, llff_from

    phone = tum_frames(2)
    scene = capture(base / "scene", frames=4)
    all3 = ("COLOR", "DEPTH", "IR")
    polycam = write_polycam(base / "polycam", phone, [80.0, 80.0], with_raw=False)
    return {
        "scene": scene,
        "mkv": write_recording(base / "rec.mkv", [(0, all3), (33333, all3)]).read_bytes(),
        "r3d": write_r3d(base / "rec.r3d", phone),
        "r3d_metadata": r3d_metadata(phone),
        "polycam": polycam,
        "polycam_camera": json.loads(sorted((polycam / "keyframes" / "corrected_cameras").glob("*.json"))[0]
                                     .read_text()),
        "stray": write_stray(base / "stray", phone),
        "llff": llff_from(scene, base / "llff"),
    }


def properties(inputs: dict[str, Any]) -> dict[str, Any]:
    """name -> a hypothesis test (``@given``, no settings yet) of that input kind."""
    from hypothesis import given

    doc = json.loads((inputs["scene"] / "transforms.json").read_text())
    stray = inputs["stray"]
    good_pb = np.load(inputs["llff"] / "poses_bounds.npy")

    @given(data=st.data())
    def transforms(data):
        run_transforms_case(inputs["scene"], data.draw(json_mutation(doc)))

    @given(data=st.data())
    def mkv(data):
        head = data.draw(st.sampled_from([4096, 65536, None]))
        run_mkv_case(data.draw(byte_mutation(inputs["mkv"], head)))

    @given(data=st.data())
    def r3d(data):
        run_r3d_case(inputs["r3d"], data.draw(json_mutation(inputs["r3d_metadata"])))

    @given(data=st.data())
    def polycam(data):
        run_polycam_case(inputs["polycam"], data.draw(json_mutation(inputs["polycam_camera"])))

    @given(data=st.data())
    def stray_csv(data):
        name = data.draw(st.sampled_from(["odometry.csv", "camera_matrix.csv"]))
        run_stray_case(stray, name, data.draw(byte_mutation((stray / name).read_bytes())))

    @given(data=st.data())
    def poses_bounds(data):
        run_poses_bounds_case(inputs["llff"], data.draw(poses_bounds_arrays(good_pb)))

    return {"transforms.json": transforms, "kinect .mkv": mkv, ".r3d metadata": r3d, "polycam camera": polycam,
            "stray csv": stray_csv, "poses_bounds.npy": poses_bounds}
