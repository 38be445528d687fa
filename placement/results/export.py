"""`placement export RUN --format czml|geojson|kml`: a run directory's placement as a file that a globe or a GIS
opens (CesiumJS, QGIS, Google Earth): the satellites with their time-tagged positions, the hosts in use per
epoch and the models they run, the demand sites, a line from each site to each host serving it, the gateways
and the cloud regions. One strategy per file (default: the run's best), every epoch or one.
"""

from __future__ import annotations

from pathlib import Path

from placement.errors import InputError
from placement.results import czml, geojson, kml
from placement.results.layers import EXPORT_SIGNATURE
from placement.results.reader import RunView, read_run
from placement.results.rundir import check_file_replaceable, json_text, write_owned_file

FORMATS = {
    "czml": lambda view, strategy, epoch: json_text(czml.packets(view, strategy, epoch), indent=None),
    "geojson": lambda view, strategy, epoch: json_text(geojson.feature_collection(view, strategy, epoch), indent=None),
    "kml": kml.document,
}


def export(run_dir: str | Path, fmt: str, out: str | Path | None = None, strategy: str | None = None,
           epoch: int | None = None, overwrite: bool = False) -> Path:
    """Write `strategy`'s placement (None: the run's best) in `epoch` (None: every epoch) of the run directory
    `run_dir` as `fmt` to `out` (default RUN/<strategy>[-epoch<N>].<fmt>); returns the file written. Every
    argument is checked before the file is built."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}", field="--format", expected=f"one of {', '.join(FORMATS)}")
    view = read_run(run_dir)
    strategy = view.strategy_or_best(strategy)
    view.check_epoch(epoch)
    suffix = "" if epoch is None else f"-epoch{epoch}"
    path = Path(out) if out is not None else Path(run_dir) / f"{strategy}{suffix}.{fmt}"
    check_file_replaceable(path, EXPORT_SIGNATURE, overwrite=overwrite)
    return write_owned_file(path, export_text(view, fmt, strategy, epoch), EXPORT_SIGNATURE, overwrite=overwrite)


def export_text(view: RunView, fmt: str, strategy: str, epoch: int | None = None) -> str:
    """The text of the `fmt` file of `strategy` in `epoch` (None: every epoch)."""
    return FORMATS[fmt](view, strategy, epoch).rstrip("\n") + "\n"
