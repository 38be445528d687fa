"""What every export format and the HTML report draw of a `RunView`, defined once: the rows of one strategy
(and epoch), where each host is during an epoch, the colour of each model, stable ids for every object, and
polylines cut at the antimeridian.
"""

from __future__ import annotations

import numpy as np

from placement.results.reader import Columns, RunView, rows

# Every export names itself with this near its start: what `placement export --overwrite` recognises as ours.
EXPORT_SIGNATURE = "placement export"
# Matplotlib's default colour cycle ('tab10', the C0..C9 of placement.plots), as 8-bit RGB.
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))
SITE_RGB = (220, 20, 60)  # crimson, as the sites of placement.plots' world map
KIND_RGB = {"satellite": PALETTE[0], "gateway": PALETTE[1], "cloud": PALETTE[2], "local": PALETTE[4]}
SATELLITE_IDLE_RGB = (150, 150, 150)


def model_colors(view: RunView) -> dict[str, tuple[int, int, int]]:
    """Each model any strategy places, in name order, with its colour (the same in every file of a run)."""
    return {model: PALETTE[i % len(PALETTE)] for i, model in enumerate(sorted(set(view.placements["model"])))}


def chosen(view: RunView, strategy: str, epoch: int | None) -> tuple[Columns, Columns]:
    """The placements and links of `strategy` in `epoch` (None: every epoch)."""
    return rows(view.placements, strategy=strategy, epoch=epoch), rows(view.links, strategy=strategy, epoch=epoch)


def object_id(kind: str, name: str) -> str:
    """A stable id for a satellite, site, gateway, cloud region or local host ('satellite/STARLINK-1008')."""
    return f"{kind}/{name}"


def epoch_step(view: RunView, epoch: np.ndarray) -> np.ndarray:
    """[row] index into the tracks' time steps of each epoch's start (where the hosts table places satellites)."""
    return np.minimum(np.searchsorted(view.track_time_s, view.epoch_start_s[np.asarray(epoch, int)] - 1e-6),
                      len(view.track_time_s) - 1)


def host_altitude_km(view: RunView, placements: Columns) -> np.ndarray:
    """[row] altitude of each placement's host at its epoch's start: its track's for satellites, 0 on the
    ground."""
    index = {name: i for i, name in enumerate(view.satellites)}
    alt = np.zeros(len(placements["host"]))
    on_satellite = placements["host_kind"] == "satellite"
    if on_satellite.any():
        sat = np.array([index[name] for name in placements["host"][on_satellite]], int)
        alt[on_satellite] = view.track_alt_km[sat, epoch_step(view, placements["epoch"][on_satellite])]
    return alt


def hosts_of(placements: Columns) -> dict[tuple[int, str], list[int]]:
    """(epoch, host) -> the placement rows of the models it runs then, in row order."""
    groups: dict[tuple[int, str], list[int]] = {}
    for i, key in enumerate(zip(placements["epoch"].tolist(), placements["host"].tolist())):
        groups.setdefault(key, []).append(i)
    return groups


def link_ends(view: RunView, links: Columns, placements: Columns) -> tuple[np.ndarray, np.ndarray]:
    """[link] the row in `view.sites` of each link's site and the row in `placements` of its host then."""
    site = {name: i for i, name in enumerate(view.sites["name"].tolist())}
    host = {key: members[0] for key, members in hosts_of(placements).items()}
    return (np.array([site[name] for name in links["site"].tolist()], int),
            np.array([host[key] for key in zip(links["epoch"].tolist(), links["host"].tolist())], int))


def antimeridian_parts(lon: np.ndarray, lat: np.ndarray, *more: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """A polyline (lon, lat, and any further per-point values) as the parts that do not cross the antimeridian,
    each part ending and the next beginning at +-180 deg on the crossing (values interpolated there), as RFC 7946
    section 3.1.9 asks of GeoJSON. A step of more than 180 deg in longitude is taken as a crossing; points with a
    NaN longitude or latitude (SGP4 failures) are dropped."""
    keep = np.isfinite(lon) & np.isfinite(lat)
    values = [np.asarray(v, np.float64)[keep] for v in (lon, lat, *more)]
    lon = values[0]
    if lon.size == 0:
        return []
    parts, start, head = [], 0, None
    for i in np.flatnonzero(np.abs(np.diff(lon)) > 180.0):
        edge = 180.0 if lon[i] > 0 else -180.0
        # Share of the step from point i to the edge, the step measured the short way round.
        share = (edge - lon[i]) / (lon[i + 1] - lon[i] + (360.0 if edge > 0 else -360.0))
        crossing = [edge] + [v[i] + share * (v[i + 1] - v[i]) for v in values[1:]]
        parts.append(_joined(head, [v[start:i + 1] for v in values], crossing))
        head, start = [-edge] + crossing[1:], i + 1
    parts.append(_joined(head, [v[start:] for v in values], None))
    return parts


def _joined(head: list | None, body: list[np.ndarray], tail: list | None) -> tuple[np.ndarray, ...]:
    """Each of `body`'s arrays with the matching value of `head` before it and of `tail` after it (if any)."""
    return tuple(np.r_[[] if head is None else [h], b, [] if tail is None else [t]]
                 for h, b, t in zip(head or [None] * len(body), body, tail or [None] * len(body)))
