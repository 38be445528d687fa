"""A run of some parts of the optimizer benchmark keeps the figures of the parts it did not run
(experiments/benchmarks/optimizers.py `previous`): families 1-3, family 4, --largest and --lp-sizes."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[1] / "experiments" / "benchmarks" / "optimizers.py"


@pytest.fixture(scope="module")
def previous():
    spec = importlib.util.spec_from_file_location("optimizers_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.previous


RECORD = {
    "rows": [{"case": "family1 small seed 0", "impl": "milp"}, {"case": "capa-8000", "impl": "milp"},
             {"case": "family3 seed 1", "impl": "milp"}, {"case": "large 4408x1000x10x24", "impl": "gradient"},
             {"case": "largest 80x200x5x6", "impl": "milp-highs"},
             {"case": "lp-sizes capa-8000", "impl": "lp-pdlp"}],
    "summary": {"median_gap_pct": 0.0, "cflp_large_seconds": 26.9, "large_seconds": 110.0,
                "large_gap_to_bound_pct": 0.3, "largest_proven_optimal": "80x200x5x6"},
}


@pytest.mark.parametrize("families, rerun, rows, keys", [
    ({1, 2, 3}, (), ["large ", "largest", "lp-sizes"], {"large_seconds", "large_gap_to_bound_pct",
                                                       "largest_proven_optimal"}),
    ({4}, (), ["family1", "capa", "family3", "largest", "lp-sizes"], {"median_gap_pct", "cflp_large_seconds",
                                                                      "largest_proven_optimal"}),
    ({1, 2, 3, 4}, (), ["largest", "lp-sizes"], {"largest_proven_optimal"}),
    (set(), ("largest",), ["family1", "capa", "family3", "large ", "lp-sizes"],
     {"median_gap_pct", "cflp_large_seconds", "large_seconds", "large_gap_to_bound_pct"}),
    (set(), ("lp-sizes",), ["family1", "capa", "family3", "large ", "largest"], set(RECORD["summary"])),
])
def test_the_parts_not_run_again_are_kept(tmp_path, previous, families, rerun, rows, keys):
    (tmp_path / "optimizers.json").write_text(json.dumps(RECORD))
    kept_rows, kept_summary = previous(tmp_path, families, rerun)
    assert [next(p for p in rows if r["case"].startswith(p)) for r in kept_rows] == rows
    assert set(kept_summary) == keys


def test_families_1_to_3_run_together(tmp_path, previous):
    with pytest.raises(SystemExit, match="1-3 together"):
        previous(tmp_path, {1, 4})
