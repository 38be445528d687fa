"""Derive the ground tables that `placement` ships from ../shared/reference.

Run from anywhere (rerunnable; it overwrites the outputs):

    python experiments/curate_ground_tables.py [--reference DIR] [--out DIR]

Outputs (placement/network/data/):
  gateways.csv       Starlink gateways, one row per unique site (StarPerf config, BSD-2-Clause)
  pops.csv           Starlink points of presence (StarPerf config, BSD-2-Clause)
  cloud_regions.csv  Azure regions (carbon-aware-sdk, MIT) and AWS regions (public repo, 2023), status
                     'available'; then the regions announced since (ANNOUNCED), status 'announced'

Every row has `source` (file and entry ids it came from), `country` (ISO 3166-1 alpha-2),
`country_method` (how the country was decided) and `note` (what was changed, if anything).

Country assignment
------------------
1. Point in polygon (even-odd ray casting over all rings of a country, so holes work) against
   Natural Earth 1:110m admin-0 polygons, read by the small .shp/.dbf reader below.
2. Points outside every polygon (coastal sites: the 1:110m coast is coarse) take the nearest
   polygon if it is within NEAREST_MAX_KM (distance to the polygon edges in a local
   equirectangular projection, accurate to well under 1% at these ranges).
3. Where the source states the country (gateway descriptions "Camaçari, BR", AWS's country
   column, PoP codes "MDRDESP1", Azure region names) the stated country is cross-checked;
   every disagreement is printed. The stated country wins when it is unambiguous: the 1:110m
   polygons lack small states and territories (Singapore, Bahrain, Hong Kong, Guam, Curaçao,
   Isle of Man) whose sites otherwise snap to a neighbour.
   Gateway descriptions use two-letter codes that are either a US state or an ISO country
   ("Colburn, ID" is Idaho, "Kendari, ID" is Indonesia; "Falda del Carmen, AR" is Argentina);
   the polygon resolves which one is meant.

Fixes applied (each also written to the row's `note`)
-----------------------------------------------------
- Gateways: StarPerf lists Ka and E band antennas at one site as separate entries (261 entries,
  222 sites). Entries with identical coordinates are merged: antennas summed, bands joined,
  per-band antenna counts kept, source ids joined.
- Azure: dropped `brazilus` (0,0 placeholder), `eastus2euap` and `centraluseuap` (EUAP canary
  regions), `eastusstg` (staging). `spaincentral` longitude sign flipped (+3.4209 -> -3.4209;
  the published point lies in the Mediterranean near Menorca, ~600 km east of Madrid; Azure's
  Spain Central region is in the Madrid area, lon about -3.7). `israelcentral` coordinates as published lie in Sinai (Egypt); kept
  (no better public value in the reference set) but the country comes from the region name
  (IL) and the note says so.
- Gateways: "Isle of Man, UK" gets IM (ISO 3166-1: a Crown Dependency, not part of the UK;
  the 1:110m polygons have no Isle of Man, the nearest polygon is GB 65 km away).
- AWS: `sa-east-1` display name was mis-encoded ("SÃ£o Paulo", UTF-8 read as Latin-1): fixed.
- Natural Earth: Kosovo has iso_a3 -99 (mapped to XK, the user-assigned code in common use);
  N. Cyprus (CYN) -> CY, Somaliland (SOL) -> SO, W. Sahara (ESH) -> EH, as ISO 3166-1 has them.
"""

from __future__ import annotations

import argparse
import csv
import math
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference"
DEFAULT_OUT = ROOT / "placement" / "network" / "data"
SHAPEFILE = Path("naturalearth_110m") / "naturalearth_lowres"

EARTH_MEAN_RADIUS_KM = 6371.0088
NEAREST_MAX_KM = 50.0

STARPERF = "StarPerf config (BSD-2-Clause)"
AZURE = "carbon-aware-sdk azure regions (MIT)"
AWS = "aws regions public repo 2023 (no licence stated)"

# ---------------------------------------------------------------------------------------------
# ISO 3166-1 alpha-3 -> alpha-2 for the 177 Natural Earth 1:110m countries (plus the NE codes
# that are not ISO: -99 Kosovo, CYN N. Cyprus, SOL Somaliland).
ISO3_TO_ISO2 = {
    "AFG": "AF", "AGO": "AO", "ALB": "AL", "ARE": "AE", "ARG": "AR", "ARM": "AM", "ATA": "AQ",
    "ATF": "TF", "AUS": "AU", "AUT": "AT", "AZE": "AZ", "BDI": "BI", "BEL": "BE", "BEN": "BJ",
    "BFA": "BF", "BGD": "BD", "BGR": "BG", "BHS": "BS", "BIH": "BA", "BLR": "BY", "BLZ": "BZ",
    "BOL": "BO", "BRA": "BR", "BRN": "BN", "BTN": "BT", "BWA": "BW", "CAF": "CF", "CAN": "CA",
    "CHE": "CH", "CHL": "CL", "CHN": "CN", "CIV": "CI", "CMR": "CM", "COD": "CD", "COG": "CG",
    "COL": "CO", "CRI": "CR", "CUB": "CU", "CYN": "CY", "CYP": "CY", "CZE": "CZ", "DEU": "DE",
    "DJI": "DJ", "DNK": "DK", "DOM": "DO", "DZA": "DZ", "ECU": "EC", "EGY": "EG", "ERI": "ER",
    "ESH": "EH", "ESP": "ES", "EST": "EE", "ETH": "ET", "FIN": "FI", "FJI": "FJ", "FLK": "FK",
    "FRA": "FR", "GAB": "GA", "GBR": "GB", "GEO": "GE", "GHA": "GH", "GIN": "GN", "GMB": "GM",
    "GNB": "GW", "GNQ": "GQ", "GRC": "GR", "GRL": "GL", "GTM": "GT", "GUY": "GY", "HND": "HN",
    "HRV": "HR", "HTI": "HT", "HUN": "HU", "IDN": "ID", "IND": "IN", "IRL": "IE", "IRN": "IR",
    "IRQ": "IQ", "ISL": "IS", "ISR": "IL", "ITA": "IT", "JAM": "JM", "JOR": "JO", "JPN": "JP",
    "KAZ": "KZ", "KEN": "KE", "KGZ": "KG", "KHM": "KH", "KOR": "KR", "KWT": "KW", "LAO": "LA",
    "LBN": "LB", "LBR": "LR", "LBY": "LY", "LKA": "LK", "LSO": "LS", "LTU": "LT", "LUX": "LU",
    "LVA": "LV", "MAR": "MA", "MDA": "MD", "MDG": "MG", "MEX": "MX", "MKD": "MK", "MLI": "ML",
    "MMR": "MM", "MNE": "ME", "MNG": "MN", "MOZ": "MZ", "MRT": "MR", "MWI": "MW", "MYS": "MY",
    "NAM": "NA", "NCL": "NC", "NER": "NE", "NGA": "NG", "NIC": "NI", "NLD": "NL", "NOR": "NO",
    "NPL": "NP", "NZL": "NZ", "OMN": "OM", "PAK": "PK", "PAN": "PA", "PER": "PE", "PHL": "PH",
    "PNG": "PG", "POL": "PL", "PRI": "PR", "PRK": "KP", "PRT": "PT", "PRY": "PY", "PSE": "PS",
    "QAT": "QA", "ROU": "RO", "RUS": "RU", "RWA": "RW", "SAU": "SA", "SDN": "SD", "SEN": "SN",
    "SLB": "SB", "SLE": "SL", "SLV": "SV", "SOL": "SO", "SOM": "SO", "SRB": "RS", "SSD": "SS",
    "SUR": "SR", "SVK": "SK", "SVN": "SI", "SWE": "SE", "SWZ": "SZ", "SYR": "SY", "TCD": "TD",
    "TGO": "TG", "THA": "TH", "TJK": "TJ", "TKM": "TM", "TLS": "TL", "TTO": "TT", "TUN": "TN",
    "TUR": "TR", "TWN": "TW", "TZA": "TZ", "UGA": "UG", "UKR": "UA", "URY": "UY", "USA": "US",
    "UZB": "UZ", "VEN": "VE", "VNM": "VN", "VUT": "VU", "YEM": "YE", "ZAF": "ZA", "ZMB": "ZM",
    "ZWE": "ZW",
    # not in ISO 3166-1 alpha-3 as Natural Earth writes them
    "-99": "XK",  # Kosovo (Natural Earth iso_a3 -99); XK is the user-assigned code in common use
}
# Alpha-3 codes seen in Starlink PoP codes that are not Natural Earth countries.
EXTRA_ISO3 = {"SGP": "SG", "HKG": "HK", "BHR": "BH"}

US_STATES = set(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC".split()
)
US_STATE_NAMES = {"Maine": "ME"}
# All ISO 3166-1 alpha-2 codes (officially assigned), plus XK (Kosovo, user-assigned).
ISO2_CODES = set(
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW XK".split()
)
TEXT_COUNTRY_ALIASES = {"UK": "GB"}
# Explicit per-entry country decisions where the source text is not the right answer.
GATEWAY_COUNTRY_OVERRIDE = {
    "Isle of Man, UK": ("IM", "country IM (Crown Dependency, ISO 3166-1 IM); source text says UK"),
}

AZURE_DROP = {
    "brazilus": "0,0 placeholder coordinates",
    "eastus2euap": "EUAP (early-update canary) region",
    "centraluseuap": "EUAP (early-update canary) region",
    "eastusstg": "staging region",
}
AZURE_LON_SIGN_FIX = {"spaincentral": "longitude sign flipped (+3.4209 -> -3.4209): Spain Central is near Madrid (~ -3.7)"}
AZURE_NOTES = {
    "israelcentral": "published coordinates lie on the Sinai coast (Egypt), ~80 km west of Israel; "
                     "kept as published (no better value in the reference set)",
}
# Country implied by each Azure region name (the cross-check for the polygon lookup).
AZURE_COUNTRY = {
    "eastus": "US", "eastus2": "US", "southcentralus": "US", "westus2": "US", "westus3": "US",
    "centralus": "US", "northcentralus": "US", "westus": "US", "westcentralus": "US",
    "australiaeast": "AU", "australiacentral": "AU", "australiacentral2": "AU",
    "australiasoutheast": "AU", "southeastasia": "SG", "northeurope": "IE", "swedencentral": "SE",
    "uksouth": "GB", "ukwest": "GB", "westeurope": "NL", "southafricanorth": "ZA",
    "southafricawest": "ZA", "centralindia": "IN", "southindia": "IN", "westindia": "IN",
    "jioindiawest": "IN", "jioindiacentral": "IN", "eastasia": "HK", "japaneast": "JP",
    "japanwest": "JP", "koreacentral": "KR", "koreasouth": "KR", "canadacentral": "CA",
    "canadaeast": "CA", "francecentral": "FR", "francesouth": "FR", "germanywestcentral": "DE",
    "germanynorth": "DE", "italynorth": "IT", "norwayeast": "NO", "norwaywest": "NO",
    "polandcentral": "PL", "spaincentral": "ES", "mexicocentral": "MX", "brazilsouth": "BR",
    "brazilsoutheast": "BR", "israelcentral": "IL", "qatarcentral": "QA",
    "switzerlandnorth": "CH", "switzerlandwest": "CH", "uaenorth": "AE", "uaecentral": "AE",
}
AWS_NAME_FIX = {"sa-east-1": ("South America (SÃ£o Paulo)", "South America (São Paulo)")}


# ---------------------------------------------------------------------------------------------
# Shapefile (.shp polygons) and dBase (.dbf attributes) reader.
# ESRI Shapefile Technical Description (1998): 100-byte file header; records of an 8-byte
# big-endian header (number, content length in 16-bit words) and a little-endian body. Polygon
# (type 5) body: type, bbox (4 doubles), numParts, numPoints, parts[numParts], points (x, y).
# dBase III: 32-byte header (record count at 4, header length at 8, record length at 10),
# 32-byte field descriptors up to 0x0D (name 11 bytes, type, length at byte 16); records are a
# deletion flag byte and fixed-width text fields.


@dataclass(frozen=True)
class Country:
    iso2: str
    name: str
    rings: tuple  # of (x [n], y [n]) numpy arrays (lon, lat degrees), closed or not
    bbox: tuple  # (xmin, ymin, xmax, ymax)


def read_shp_polygons(path: Path) -> list[list[np.ndarray]]:
    """Rings (each an [n, 2] lon/lat array) per record of a polygon shapefile."""
    data = Path(path).read_bytes()
    file_code, = struct.unpack(">i", data[0:4])
    if file_code != 9994:
        raise ValueError(f"{path}: not a shapefile (file code {file_code}, expected 9994)")
    file_words, = struct.unpack(">i", data[24:28])
    end = min(len(data), 2 * file_words)
    records, pos = [], 100
    while pos + 8 <= end:
        _number, words = struct.unpack(">ii", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + 2 * words]
        pos += 8 + 2 * words
        shape_type, = struct.unpack("<i", body[0:4])
        if shape_type == 0:  # null shape
            records.append([])
            continue
        if shape_type not in (5, 15, 25):
            raise ValueError(f"{path}: shape type {shape_type}, expected polygons (5)")
        n_parts, n_points = struct.unpack("<ii", body[36:44])
        parts = list(struct.unpack(f"<{n_parts}i", body[44:44 + 4 * n_parts])) + [n_points]
        off = 44 + 4 * n_parts
        pts = np.frombuffer(body, dtype="<f8", count=2 * n_points, offset=off).reshape(n_points, 2)
        records.append([pts[parts[i]:parts[i + 1]].astype(np.float64) for i in range(n_parts)])
    return records


def read_dbf(path: Path, encoding: str = "latin-1") -> list[dict[str, str]]:
    data = Path(path).read_bytes()
    n_records, header_len, record_len = struct.unpack("<IHH", data[4:12])
    fields, pos = [], 32
    while data[pos] != 0x0D:
        name = data[pos:pos + 11].split(b"\0")[0].decode("ascii")
        fields.append((name, data[pos + 16]))
        pos += 32
    rows = []
    for i in range(n_records):
        rec = data[header_len + i * record_len:header_len + (i + 1) * record_len]
        if rec[:1] == b"*":  # deleted
            continue
        off, row = 1, {}
        for name, length in fields:
            row[name] = rec[off:off + length].decode(encoding).strip()
            off += length
        rows.append(row)
    return rows


def load_countries(reference: Path) -> list[Country]:
    base = reference / SHAPEFILE
    cpg = base.with_suffix(".cpg")
    encoding = cpg.read_text().strip() if cpg.is_file() else "latin-1"
    shapes = read_shp_polygons(base.with_suffix(".shp"))
    attrs = read_dbf(base.with_suffix(".dbf"), encoding=encoding)
    if len(shapes) != len(attrs):
        raise ValueError(f"{base}: {len(shapes)} shapes but {len(attrs)} attribute rows")
    countries = []
    for rings, row in zip(shapes, attrs):
        iso2 = ISO3_TO_ISO2.get(row["iso_a3"])
        if iso2 is None:
            raise ValueError(f"{base}.dbf: no alpha-2 for iso_a3 {row['iso_a3']!r} ({row['name']})")
        allpts = np.concatenate(rings)
        bbox = (allpts[:, 0].min(), allpts[:, 1].min(), allpts[:, 0].max(), allpts[:, 1].max())
        countries.append(Country(iso2, row["name"], tuple((r[:, 0], r[:, 1]) for r in rings), bbox))
    return countries


# ---------------------------------------------------------------------------------------------
# Geometry.

def point_in_rings(x: float, y: float, rings) -> bool:
    """Even-odd rule: a horizontal ray from (x, y) towards +x crosses the rings' edges an odd
    number of times. All rings of a shape count together, so holes (and islands in lakes) work
    without knowing ring orientation. Rings may be closed (last == first) or open."""
    crossings = 0
    for xs, ys in rings:
        xj, yj = np.roll(xs, 1), np.roll(ys, 1)
        straddle = (ys > y) != (yj > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = xs + (y - ys) * (xj - xs) / (yj - ys)
        crossings += int(np.count_nonzero(straddle & (x < x_cross)))
    return crossings % 2 == 1


def distance_to_rings_km(lat: float, lon: float, rings) -> float:
    """Shortest distance (km) from a point to the edges of rings, in a local equirectangular
    projection about the point (longitudes wrapped to +-180 around it)."""
    best = math.inf
    kx = math.radians(1.0) * EARTH_MEAN_RADIUS_KM * math.cos(math.radians(lat))
    ky = math.radians(1.0) * EARTH_MEAN_RADIUS_KM
    for xs, ys in rings:
        dx = (np.asarray(xs) - lon + 180.0) % 360.0 - 180.0
        # an edge whose ends wrap to opposite sides (crossing the point's antimeridian) is an
        # artefact of the wrap, not a real edge near the point: Natural Earth splits rings at
        # +-180, so no real edge spans 180 degrees of longitude
        real = np.abs(np.roll(dx, -1) - dx) < 180.0
        px, py = dx[real] * kx, (np.asarray(ys) - lat)[real] * ky
        ax, ay = px, py
        bx = (np.roll(dx, -1)[real]) * kx
        by = (np.roll(np.asarray(ys), -1) - lat)[real] * ky
        if px.size == 0:
            continue
        ex, ey = bx - ax, by - ay
        len2 = ex * ex + ey * ey
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(len2 > 0, -(ax * ex + ay * ey) / len2, 0.0)
        t = np.clip(t, 0.0, 1.0)
        cx, cy = ax + t * ex, ay + t * ey
        best = min(best, float(np.sqrt(cx * cx + cy * cy).min()))
    return best


def locate(lat: float, lon: float, countries: list[Country]) -> tuple[str | None, float]:
    """(alpha-2, distance_km): distance 0 when inside a polygon; the nearest polygon within
    NEAREST_MAX_KM otherwise; (None, distance) when nothing is that close."""
    for c in countries:
        xmin, ymin, xmax, ymax = c.bbox
        if xmin <= lon <= xmax and ymin <= lat <= ymax and point_in_rings(lon, lat, c.rings):
            return c.iso2, 0.0
    # coarse prefilter: bounding boxes within ~1 degree of the point
    best, best_km = None, math.inf
    for c in countries:
        xmin, ymin, xmax, ymax = c.bbox
        if not (ymin - 1.0 <= lat <= ymax + 1.0):
            continue
        if xmax - xmin < 359.0 and not (xmin - 1.5 <= lon <= xmax + 1.5):
            continue
        d = distance_to_rings_km(lat, lon, c.rings)
        if d < best_km:
            best, best_km = c.iso2, d
    if best is not None and best_km <= NEAREST_MAX_KM:
        return best, best_km
    return None, best_km


def method_text(iso2: str | None, km: float) -> str:
    if iso2 is None:
        return "none"
    return "polygon" if km == 0.0 else f"nearest_polygon_{km:.1f}km"


# ---------------------------------------------------------------------------------------------
# Source text parsing.

def gateway_text_candidates(description: str) -> set[str]:
    """Countries a gateway description can mean: "City, XX" is an ISO code or a US state,
    "City, ST, CC" names the country last."""
    text = description.split(" | ")[0].split(" / ")[-1]  # "Baxley, GA / Surrency, GA | Mega"
    text = text.split(" - ")[0].replace("(backhaul only)", "").replace("#2", "").strip()
    tokens = [t.strip() for t in text.split(",") if t.strip()]
    if len(tokens) == 1:  # "Litchfield CT": no comma before the code
        tokens = text.rsplit(" ", 1)
    last = tokens[-1]
    if last in US_STATE_NAMES:
        return {"US"}
    last = TEXT_COUNTRY_ALIASES.get(last, last)
    out = {last} if last in ISO2_CODES else set()
    if len(tokens) < 3 and last in US_STATES:
        out.add("US")
    if not out:
        raise SystemExit(f"gateway description {description!r}: no country code at the end")
    return out


def pop_text_country(name: str) -> str | None:
    """PoP names end in a site code: US ones as CITY + state + X1 ("STTLWAX1"), others as CITY
    + alpha-3 (+ digit): "MDRDESP1", "AKLNZL1", "PRTHAU1" (a 2-letter tail: AU)."""
    code = name.split(" - ")[-1].strip()
    body = code.rstrip("0123456789")
    if body.endswith("MEX"):  # before the US rule: "QRTOMEX1" is not Maine + X
        return "MX"
    if body.endswith("X") and body[-3:-1] in US_STATES:
        return "US"
    iso3 = body[-3:]
    if iso3 in ISO3_TO_ISO2 or iso3 in EXTRA_ISO3:
        return ISO3_TO_ISO2.get(iso3) or EXTRA_ISO3[iso3]
    if body[-2:] in set(ISO3_TO_ISO2.values()):
        return body[-2:]
    return None


# ---------------------------------------------------------------------------------------------

def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in columns})


def fmt(v: float) -> str:
    return repr(round(float(v), 7))


class Report:
    def __init__(self):
        self.lines: list[str] = []

    def __call__(self, text: str) -> None:
        self.lines.append(text)
        print(text)


def resolve(stated: set[str] | None, lat: float, lon: float, countries, report: Report, label: str):
    """(country, method, note) from the polygon lookup and an optional stated country set."""
    iso2, km = locate(lat, lon, countries)
    method = method_text(iso2, km)
    if not stated:
        if iso2 is None:
            raise SystemExit(f"{label}: no polygon within {NEAREST_MAX_KM} km and no stated country")
        return iso2, method, ""
    if iso2 in stated:
        return iso2, method, ""
    # disagreement (or no polygon near): report, and use the stated country when unambiguous
    if len(stated) == 1:
        chosen = next(iter(stated))
        note = (f"country {chosen} from source text; Natural Earth 1:110m gives "
                f"{iso2 or 'nothing'} ({method if iso2 else f'nearest {km:.0f} km'})")
        report(f"  DISAGREE {label}: source says {chosen}, polygon says {iso2} ({method}; "
               f"nearest {km:.1f} km) -> {chosen}")
        return chosen, "source_text", note
    raise SystemExit(f"{label}: ambiguous source country {sorted(stated)} and polygon gives {iso2} "
                     f"({method}); add an explicit rule to the curation script")


def curate_gateways(reference: Path, countries, report: Report) -> list[dict]:
    rows = read_csv(reference / "starlink_gateways.csv")
    sites: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        sites.setdefault((r["Latitude"], r["Longitude"]), []).append(r)
    out = []
    for (lat_s, lon_s), entries in sites.items():
        lat, lon = float(lat_s), float(lon_s)
        names = sorted({e["Description"].strip() for e in entries})
        if len(names) != 1:
            raise SystemExit(f"gateway entries at {lat_s},{lon_s} have different names: {names}")
        band_antennas: dict[str, int] = {}
        for e in entries:
            band_antennas[e["Frequency"]] = band_antennas.get(e["Frequency"], 0) + int(e["Antenna_Count"])
        ids = [e["id"] for e in entries]
        country, method, note = resolve(gateway_text_candidates(names[0]), lat, lon, countries,
                                        report, f"gateway {'+'.join(ids)} {names[0]!r}")
        notes = [n for n in [note] if n]
        if names[0] in GATEWAY_COUNTRY_OVERRIDE:
            country, override_note = GATEWAY_COUNTRY_OVERRIDE[names[0]]
            method = "override"
            notes = [override_note]
            report(f"  override gateway {names[0]!r} -> {country}")
        if len(entries) > 1:
            notes.insert(0, f"merged {len(entries)} entries at identical coordinates ({'+'.join(ids)})")
        out.append({
            "name": names[0], "lat_deg": fmt(lat), "lon_deg": fmt(lon), "country": country,
            "antennas": sum(band_antennas.values()),
            "bands": ";".join(sorted(band_antennas, key=lambda b: (b != "Ka", b))),
            "antennas_ka": band_antennas.get("Ka", 0), "antennas_e": band_antennas.get("E", 0),
            "source": f"starlink_gateways.csv {';'.join(ids)}; {STARPERF}",
            "country_method": method, "note": "; ".join(notes),
        })
    report(f"gateways: {len(rows)} entries -> {len(out)} sites")
    return out


def curate_pops(reference: Path, countries, report: Report) -> list[dict]:
    rows = read_csv(reference / "starlink_pops.csv")
    out = []
    for r in rows:
        lat, lon = float(r["Latitude"]), float(r["Longitude"])
        stated = pop_text_country(r["Name"])
        country, method, note = resolve({stated} if stated else None, lat, lon, countries,
                                        report, f"pop {r['id']} {r['Name']!r}")
        out.append({"name": r["Name"].strip(), "lat_deg": fmt(lat), "lon_deg": fmt(lon),
                    "country": country, "source": f"starlink_pops.csv {r['id']}; {STARPERF}",
                    "country_method": method, "note": note})
    report(f"pops: {len(rows)} rows -> {len(out)}")
    return out


def curate_cloud(reference: Path, countries, report: Report) -> list[dict]:
    out = []
    azure = read_csv(reference / "azure_regions.csv")
    for r in azure:
        name = r["name"].strip()
        if name in AZURE_DROP:
            report(f"  azure: dropped {name}: {AZURE_DROP[name]}")
            continue
        lat, lon = float(r["lat"]), float(r["lon"])
        notes = []
        if name in AZURE_LON_SIGN_FIX:
            lon = -lon
            notes.append(AZURE_LON_SIGN_FIX[name])
        if name in AZURE_NOTES:
            notes.append(AZURE_NOTES[name])
        country, method, note = resolve({AZURE_COUNTRY[name]}, lat, lon, countries, report,
                                        f"azure {name}")
        if note:
            notes.append(note)
        out.append({"provider": "azure", "name": name, "display_name": "", "lat_deg": fmt(lat),
                     "lon_deg": fmt(lon), "country": country,
                     "source": f"azure_regions.csv {name}; {AZURE}", "country_method": method,
                     "note": "; ".join(notes)})
    n_azure = len(out)
    report(f"azure: {len(azure)} rows -> {n_azure}")
    aws = read_csv(reference / "aws_regions.csv")
    for r in aws:
        code = r["code"].strip()
        display = r["name"].strip()
        notes = []
        if code in AWS_NAME_FIX and display == AWS_NAME_FIX[code][0]:
            display = AWS_NAME_FIX[code][1]
            notes.append("display name re-decoded (was UTF-8 read as Latin-1)")
        lat, lon = float(r["lat"]), float(r["lon"])
        country, method, note = resolve({r["country"].strip()}, lat, lon, countries, report,
                                        f"aws {code}")
        if note:
            notes.append(note)
        out.append({"provider": "aws", "name": code, "display_name": display, "lat_deg": fmt(lat),
                    "lon_deg": fmt(lon), "country": country,
                    "source": f"aws_regions.csv {code}; {AWS}", "country_method": method,
                    "note": "; ".join(notes)})
    report(f"aws: {len(aws)} rows -> {len(out) - n_azure}")
    for row in out:
        row["status"] = "available"
    return out + curate_announced(reference, countries, report)


# Regions announced but not open when the tables were made, each placed at a town of the reference set (the
# announcements name a place, not coordinates) and kept out of a run unless network.announced_regions is set.
# (provider, name, country, (reference table, its name column, lat column, lon column, row), announcement)
KENYA_TOWNS = ("kenya_towns.csv", "city", "lat", "lon")
CAPITALS = ("country_capitals.csv", "name", "latitude_degree", "longitude_degree")
ANNOUNCED = [
    ("azure", "eastafrica", "KE", (*KENYA_TOWNS, "Naivasha"),
     "Microsoft and G42, May 2024 (President Ruto's state visit to the US): an 'East Africa Cloud Region' of Azure "
     "in a geothermal data centre campus at Olkaria, Naivasha, live within 24 months of the definitive agreements "
     "(kenyaengineer.co.ke, 'KenGen teams up with Microsoft and G42'); placed at Naivasha town (GeoNames), the "
     "reference set's nearest town to the Olkaria fields"),
    ("aws", "chile", "CL", (*CAPITALS, "Santiago"),
     "AWS, 2025-05-07: an AWS South America (Chile) region in the Santiago Metropolitan Region, operational in the "
     "second half of 2026 (Reuters, 'Amazon to spend $4 billion on cloud infrastructure in Chile', via "
     "financetom.com); placed at Santiago (country_capitals.csv); named here, AWS has not published its code"),
]


def curate_announced(reference: Path, countries, report: Report) -> list[dict]:
    out = []
    for provider, name, stated, (table, name_column, lat_column, lon_column, place), source in ANNOUNCED:
        row = next(r for r in read_csv(reference / table) if r[name_column] == place)
        lat, lon = float(row[lat_column]), float(row[lon_column])
        country, method, note = resolve({stated}, lat, lon, countries, report, f"{provider} {name}")
        out.append({"provider": provider, "name": name, "display_name": "", "lat_deg": fmt(lat),
                    "lon_deg": fmt(lon), "country": country, "source": f"{table} {place}; {source}",
                    "country_method": method, "note": note or "", "status": "announced"})
    report(f"announced: {len(out)} rows")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    countries = load_countries(args.reference)
    report = Report()
    report(f"Natural Earth: {len(countries)} countries")
    gateways = curate_gateways(args.reference, countries, report)
    pops = curate_pops(args.reference, countries, report)
    cloud = curate_cloud(args.reference, countries, report)
    write_csv(args.out / "gateways.csv", gateways,
              ["name", "lat_deg", "lon_deg", "country", "antennas", "bands", "antennas_ka",
               "antennas_e", "source", "country_method", "note"])
    write_csv(args.out / "pops.csv", pops,
              ["name", "lat_deg", "lon_deg", "country", "source", "country_method", "note"])
    write_csv(args.out / "cloud_regions.csv", cloud,
              ["provider", "name", "display_name", "lat_deg", "lon_deg", "country", "source",
               "country_method", "note", "status"])
    report(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
