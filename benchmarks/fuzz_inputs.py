"""A larger fuzzing run of the CLI's inputs than the test suite's (tests/test_fuzz_inputs.py): random
(not derandomised) hypothesis cases per input kind, each through ``app.cli.main`` with the same property
(tests/fuzz_cases.py). Prints a Markdown table of cases, correct results, one-line errors and failures
(a failure is printed with its falsifying example) for benchmarks/RESULTS.md.

    SPARSENERF_DATA=../shared/data python benchmarks/fuzz_inputs.py [--examples 100] [--kinds transforms.json,...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, settings  # noqa: E402

from tests import fuzz_cases as fc  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=100, help="cases per input kind")
    ap.add_argument("--kinds", default="", help="comma-separated input kinds (default: all)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    rows, failed = [], 0
    with tempfile.TemporaryDirectory(prefix="fuzz-bench-") as tmp:
        props = fc.properties(fc.build_inputs(Path(tmp)))
        kinds = [k for k in args.kinds.split(",") if k] or list(props)
        for kind in kinds:
            t0 = time.perf_counter()
            problem = ""
            try:
                settings(max_examples=args.examples, deadline=None, database=None, print_blob=True,
                         suppress_health_check=list(HealthCheck))(props[kind])()
            except Exception as exc:  # noqa: BLE001 - a falsifying example: report it, go on with the others
                failed += 1
                problem = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:80]}"
                traceback.print_exc()
            ok, err = fc.OUTCOMES[kind, "ok"], fc.OUTCOMES[kind, "error"]
            rows.append((kind, ok + err, ok, err, problem or "none", time.perf_counter() - t0))
    print(f"\n{args.examples} examples requested per kind; load average {os.getloadavg()[0]:.2f}\n")
    print("| input | cases run | correct result | one-line error | property failures | seconds |")
    print("|---|---|---|---|---|---|")
    for kind, n, ok, err, problem, secs in rows:
        print(f"| {kind} | {n} | {ok} | {err} | {problem} | {secs:.0f} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
