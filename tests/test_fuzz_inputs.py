"""Property-based fuzzing (hypothesis) of the files a user hands the CLI: mutated transforms.json, Kinect
.mkv bytes, .r3d metadata, Polycam camera JSON, Stray CSVs and poses_bounds.npy, each through
``app.cli.main``. Only a correct result or one documented error line; never a traceback, a NaN or a
left-over folder (the property: ``tests/fuzz_cases.py``). A short derandomised run here (8 cases per input
kind); ``benchmarks/fuzz_inputs.py`` runs many more random ones."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from tests import fuzz_cases as fc

CI = settings(max_examples=8, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
KINDS = ["transforms.json", "kinect .mkv", ".r3d metadata", "polycam camera", "stray csv", "poses_bounds.npy"]


@pytest.fixture(scope="module")
def props(tmp_path_factory):
    return fc.properties(fc.build_inputs(tmp_path_factory.mktemp("fuzz")))


@pytest.mark.parametrize("kind", KINDS)
def test_fuzzed_inputs_give_a_result_or_one_error_line(props, kind):
    CI(props[kind])()
