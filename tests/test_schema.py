"""`placement schema`: a JSON Schema of the config, generated from the config's own field declarations. Checked
with the jsonschema package against the draft 2020-12 metaschema, against every shipped config, and against
the config reader on values both must refuse."""

from __future__ import annotations

import contextlib
import datetime
import io
import json
from pathlib import Path

import jsonschema
import pytest
import tomllib

from placement import cli
from placement.config import config_to_dict, load_config
from placement.errors import InputError

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.toml"))
QUICKSTART = CONFIGS[0].parent / "quickstart.toml"


@pytest.fixture(scope="module")
def validator():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["schema"]) == 0
    schema = json.loads(out.getvalue())
    jsonschema.Draft202012Validator.check_schema(schema)  # a valid schema of the dialect it names
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    return jsonschema.Draft202012Validator(schema)


def as_json(data):
    """A TOML table as an editor's TOML language server hands it to a JSON Schema: dates as ISO text."""
    return json.loads(json.dumps(data, default=lambda value: value.isoformat()
                                 if isinstance(value, (datetime.date, datetime.time)) else value))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_shipped_config_validates(validator, path):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(as_json(tomllib.loads(
        path.read_text())))]
    assert errors == []


def test_a_resolved_config_validates_too(validator):
    # what a run directory's config.json holds: every field, nulls included
    assert list(validator.iter_errors(config_to_dict(load_config(QUICKSTART)))) == []


@pytest.mark.parametrize("override, path", [
    ("time.step_s='thirty'", ["time", "step_s"]),  # a string for a number
    ("time.duratin_h=2.0", ["time"]),  # an unknown key
    ("frobnicate=1", []),  # an unknown section
    ("propagation.chunk_steps=1.5", ["propagation", "chunk_steps"]),  # a fraction for an integer
    ("problem.placement='sometimes'", ["problem", "placement"]),  # not one of the choices
    ("solver.gradient.temperature=[1.0]", ["solver", "gradient", "temperature"]),  # a pair of one
    ("solver.milp.time_limit_s=-1.0", ["solver", "milp", "time_limit_s"]),  # a shared range check: positive
    ("workloads=[{model='yolov8n', rate_per_s=1.0}]", ["workloads", 0]),  # slo_ms is required
])
def test_what_the_reader_refuses_the_schema_refuses(validator, override, path):
    with pytest.raises(InputError):
        load_config(QUICKSTART, [override])
    data = tomllib.loads(QUICKSTART.read_text())
    *tables, key = override.split("=", 1)[0].split(".")
    node = data
    for table in tables:
        node = node.setdefault(table, {})
    node[key] = tomllib.loads(f"v = {override.split('=', 1)[1]}")["v"]
    errors = list(validator.iter_errors(as_json(data)))
    assert errors and [list(e.absolute_path) for e in errors] == [path]
