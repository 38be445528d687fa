"""SGP4 (near-Earth) in JAX: initialise once on the host in float64, propagate batched on the device.

The algorithm is Vallado's revision of SGP4 (Vallado, Crawford, Hujsak, Kelso, "Revisiting
Spacetrack Report #3", AIAA 2006-6753, and the 2020 code it ships), the same one the `sgp4`
package wraps. Variable names are Vallado's, so `sgp4_init` reads against his `initl` +
`sgp4init` and `_propagate` against his `sgp4` line by line. Gravity model: WGS72, as in the
reference and in every published TLE.

Three things differ from a literal transcription, all for the device:

1. No branches per satellite. The "simple" drag model (`isimp`, perigee below 220 km) is the full
   model with `omgcof`, `xmcof`, `cc5`, `d2..d4`, `t3cof..t5cof` set to zero, which gives the same
   numbers exactly (the dropped terms are additions of exact zeros). Kepler's equation is solved
   by a batched Newton loop that stops when every element has converged, freezing each element
   once converged, as Vallado's per-satellite loop does.

2. Secular angles are anchored on the host. M, omega and Omega grow linearly by about 100 rad a
   day; in float32 the product `mdot * t` alone would be rounded by ~4e-6 rad (about 30 m along
   track) and more over longer horizons. The host therefore evaluates, in float64, the linear
   angles at anchor times (`mo + mdot * t0`, reduced modulo 2 pi) and the device adds only
   `mdot * tau` for the short offset `tau = t - t0` within a segment. Float32 then never handles
   an angle larger than a few radians, and the error no longer grows with the horizon. In
   float64 the result equals the `sgp4` package's to ~1e-9 km.

3. Fewer transcendental calls. The short-period corrections to the argument of latitude and the
   inclination are below 1e-3 rad, so their sines and cosines come from rotating the ones already
   computed by the small angle (`_rotate_small`) instead of `atan2`, `sin` and `cos` again, and
   the 2 pi reductions that the anchors make redundant are dropped.

Deep-space orbits (period >= 225 min, Vallado's "method d") need SDP4's lunar-solar terms and
resonance integrator, which this module does not implement: `Propagator` routes them to the
`sgp4` package on the host, with a warning, and merges their rows into the result. Near-Earth
satellites never take that path.

Error codes are the `sgp4` package's: 0 ok; 1 mean eccentricity out of [-0.001, 1); 2 mean
motion <= 0; 4 semi-latus rectum < 0; 6 satellite decayed (radius < 1 earth radius). Rows with
codes 1-4 are NaN, as the package returns them; code-6 rows keep the computed position.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Iterator, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from placement.constants import WGS72, Gravity
from placement.constellation.elements import Elements
from placement.errors import InputError
from placement.propagation.timegrid import TimeGrid

TWOPI = 2.0 * math.pi
X2O3 = 2.0 / 3.0
DEEP_SPACE_PERIOD_MIN = 225.0  # Vallado: 2 pi / n >= 225 min selects SDP4


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Sgp4Params:
    """Per-satellite SGP4 coefficients [sat], the output of `sgp4init` that propagation reads."""

    no_unkozai: jax.Array
    ecco: jax.Array
    inclo: jax.Array
    mo: jax.Array
    argpo: jax.Array
    nodeo: jax.Array
    mdot: jax.Array
    argpdot: jax.Array
    nodedot: jax.Array
    bstar: jax.Array
    cc1: jax.Array
    cc4: jax.Array
    cc5: jax.Array
    d2: jax.Array
    d3: jax.Array
    d4: jax.Array
    delmo: jax.Array
    eta: jax.Array
    omgcof: jax.Array
    xmcof: jax.Array
    nodecf: jax.Array
    sinmao: jax.Array
    t2cof: jax.Array
    t3cof: jax.Array
    t4cof: jax.Array
    t5cof: jax.Array
    con41: jax.Array
    x1mth2: jax.Array
    x7thm1: jax.Array
    xlcof: jax.Array
    aycof: jax.Array

    def astype(self, dtype) -> "Sgp4Params":
        return jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype=dtype), self)


def sgp4_init(elements: Elements, gravity: Gravity = WGS72) -> tuple[Sgp4Params, np.ndarray]:
    """Vallado's `initl` + `sgp4init` for every satellite at once, numpy float64 on the host.

    Returns the coefficients and a boolean mask [sat] of deep-space satellites (period >= 225 min),
    whose coefficients are not valid for `_propagate`.
    """
    radiusearthkm, xke, j2, j3oj2, j4 = gravity.radiusearthkm, gravity.xke, gravity.j2, gravity.j3oj2, gravity.j4
    ecco, inclo, argpo, mo, nodeo = elements.ecco, elements.inclo, elements.argpo, elements.mo, elements.nodeo
    bstar, no_kozai = elements.bstar, elements.no_kozai

    ss = 78.0 / radiusearthkm + 1.0
    qzms2t = ((120.0 - 78.0) / radiusearthkm) ** 4
    temp4 = 1.5e-12

    # --- initl: recover the Brouwer mean motion ("un-Kozai") and the semi-major axis.
    eccsq = ecco * ecco
    omeosq = 1.0 - eccsq
    rteosq = np.sqrt(omeosq)
    cosio = np.cos(inclo)
    cosio2 = cosio * cosio
    ak = (xke / no_kozai) ** X2O3
    d1 = 0.75 * j2 * (3.0 * cosio2 - 1.0) / (rteosq * omeosq)
    del_ = d1 / (ak * ak)
    adel = ak * (1.0 - del_ * del_ - del_ * (1.0 / 3.0 + 134.0 * del_ * del_ / 81.0))
    del_ = d1 / (adel * adel)
    no_unkozai = no_kozai / (1.0 + del_)
    ao = (xke / no_unkozai) ** X2O3
    sinio = np.sin(inclo)
    po = ao * omeosq
    con42 = 1.0 - 5.0 * cosio2
    con41 = -con42 - cosio2 - cosio2
    posq = po * po
    rp = ao * (1.0 - ecco)

    # --- sgp4init: drag and secular coefficients.
    isimp = rp < (220.0 / radiusearthkm + 1.0)
    perige = (rp - 1.0) * radiusearthkm
    # Perigee below 156 km: the atmosphere parameter s is lowered (below 98 km, fixed at 20 km).
    sfour_km = np.where(perige < 98.0, 20.0, perige - 78.0)
    low = perige < 156.0
    qzms24 = np.where(low, ((120.0 - sfour_km) / radiusearthkm) ** 4, qzms2t)
    sfour = np.where(low, sfour_km / radiusearthkm + 1.0, ss)

    pinvsq = 1.0 / posq
    tsi = 1.0 / (ao - sfour)
    eta = ao * ecco * tsi
    etasq = eta * eta
    eeta = ecco * eta
    psisq = np.abs(1.0 - etasq)
    coef = qzms24 * tsi**4
    coef1 = coef / psisq**3.5
    cc2 = coef1 * no_unkozai * (
        ao * (1.0 + 1.5 * etasq + eeta * (4.0 + etasq))
        + 0.375 * j2 * tsi / psisq * con41 * (8.0 + 3.0 * etasq * (8.0 + etasq))
    )
    cc1 = bstar * cc2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # the branch np.where drops
        cc3 = np.where(ecco > 1.0e-4, -2.0 * coef * tsi * j3oj2 * no_unkozai * sinio / ecco, 0.0)
        xmcof = np.where(ecco > 1.0e-4, -X2O3 * coef * bstar / eeta, 0.0)
    x1mth2 = 1.0 - cosio2
    cc4 = 2.0 * no_unkozai * coef1 * ao * omeosq * (
        eta * (2.0 + 0.5 * etasq)
        + ecco * (0.5 + 2.0 * etasq)
        - j2 * tsi / (ao * psisq) * (
            -3.0 * con41 * (1.0 - 2.0 * eeta + etasq * (1.5 - 0.5 * eeta))
            + 0.75 * x1mth2 * (2.0 * etasq - eeta * (1.0 + etasq)) * np.cos(2.0 * argpo)
        )
    )
    cc5 = 2.0 * coef1 * ao * omeosq * (1.0 + 2.75 * (etasq + eeta) + eeta * etasq)
    cosio4 = cosio2 * cosio2
    temp1 = 1.5 * j2 * pinvsq * no_unkozai
    temp2 = 0.5 * temp1 * j2 * pinvsq
    temp3 = -0.46875 * j4 * pinvsq * pinvsq * no_unkozai
    mdot = no_unkozai + 0.5 * temp1 * rteosq * con41 + 0.0625 * temp2 * rteosq * (13.0 - 78.0 * cosio2 + 137.0 * cosio4)
    argpdot = (-0.5 * temp1 * con42 + 0.0625 * temp2 * (7.0 - 114.0 * cosio2 + 395.0 * cosio4)
               + temp3 * (3.0 - 36.0 * cosio2 + 49.0 * cosio4))
    xhdot1 = -temp1 * cosio
    nodedot = xhdot1 + (0.5 * temp2 * (4.0 - 19.0 * cosio2) + 2.0 * temp3 * (3.0 - 7.0 * cosio2)) * cosio
    omgcof = bstar * cc3 * np.cos(argpo)
    nodecf = 3.5 * omeosq * xhdot1 * cc1
    t2cof = 1.5 * cc1
    # Vallado guards the 1/(1 + cos i) singularity of retrograde equatorial orbits with temp4.
    xlcof_den = np.where(np.abs(cosio + 1.0) > 1.5e-12, 1.0 + cosio, temp4)
    xlcof = -0.25 * j3oj2 * sinio * (3.0 + 5.0 * cosio) / xlcof_den
    aycof = -0.5 * j3oj2 * sinio
    delmo = (1.0 + eta * np.cos(mo)) ** 3
    sinmao = np.sin(mo)
    x7thm1 = 7.0 * cosio2 - 1.0

    cc1sq = cc1 * cc1
    d2 = 4.0 * ao * tsi * cc1sq
    temp = d2 * tsi * cc1 / 3.0
    d3 = (17.0 * ao + sfour) * temp
    d4 = 0.5 * temp * ao * tsi * (221.0 * ao + 31.0 * sfour) * cc1
    t3cof = d2 + 2.0 * cc1sq
    t4cof = 0.25 * (3.0 * d3 + cc1 * (12.0 * d2 + 10.0 * cc1sq))
    t5cof = 0.2 * (3.0 * d4 + 12.0 * cc1 * d3 + 6.0 * d2 * d2 + 15.0 * cc1sq * (2.0 * d2 + cc1sq))

    # The simple model is the full one without these terms (module docstring, point 1).
    full = ~isimp
    zero_if_simple = lambda a: np.where(full, a, 0.0)  # noqa: E731
    params = Sgp4Params(
        no_unkozai=no_unkozai, ecco=ecco, inclo=inclo, mo=mo, argpo=argpo, nodeo=nodeo,
        mdot=mdot, argpdot=argpdot, nodedot=nodedot, bstar=bstar,
        cc1=cc1, cc4=cc4, cc5=zero_if_simple(cc5),
        d2=zero_if_simple(d2), d3=zero_if_simple(d3), d4=zero_if_simple(d4),
        delmo=delmo, eta=eta, omgcof=zero_if_simple(omgcof), xmcof=zero_if_simple(xmcof),
        nodecf=nodecf, sinmao=sinmao, t2cof=t2cof,
        t3cof=zero_if_simple(t3cof), t4cof=zero_if_simple(t4cof), t5cof=zero_if_simple(t5cof),
        con41=con41, x1mth2=x1mth2, x7thm1=x7thm1, xlcof=xlcof, aycof=aycof,
    )
    deep_space = TWOPI / no_unkozai >= DEEP_SPACE_PERIOD_MIN
    return params, deep_space


class Anchors(NamedTuple):
    """Host-side float64 anchors [sat, seg]: time since epoch and the linear secular angles there."""

    t_min: np.ndarray
    xmdf: np.ndarray
    argpdf: np.ndarray
    nodedf: np.ndarray


def anchors(params: Sgp4Params, t0_min: np.ndarray) -> Anchors:
    """Linear secular angles at anchor times t0 [sat, seg] (float64, host), reduced to [0, 2 pi)."""
    p = jax.tree_util.tree_map(lambda a: np.asarray(a, dtype=np.float64)[:, None], params)
    t0 = np.asarray(t0_min, dtype=np.float64)
    return Anchors(
        t_min=t0,
        xmdf=np.mod(p.mo + p.mdot * t0, TWOPI),
        argpdf=np.mod(p.argpo + p.argpdot * t0, TWOPI),
        nodedf=np.mod(p.nodeo + p.nodedot * t0, TWOPI),
    )


def _kepler_tolerance(dtype) -> float:
    # Vallado's 1e-12 in float64; in float32 a few ulps of 2 pi (Newton converges quadratically,
    # so the last correction is far below this when the loop stops).
    return 1.0e-12 if jnp.dtype(dtype) == jnp.float64 else 2.0e-6


def _propagate(p: Sgp4Params, anchor: Anchors, tau_min: jax.Array, gravity: Gravity):
    """Vallado's `sgp4` (near-Earth branch) at t = anchor.t_min[sat, seg] + tau_min[step].

    Every array in `p` is [sat]; `anchor` fields are [sat, seg]; returns r_km, v_km_s
    [sat, seg, step, 3] and error [sat, seg, step] (int8).
    """
    dtype = p.no_unkozai.dtype
    p = jax.tree_util.tree_map(lambda a: a[:, None, None], p)
    tau = tau_min.astype(dtype)[None, None, :]
    cast = lambda a: jnp.asarray(a, dtype)[:, :, None]  # noqa: E731
    t = cast(anchor.t_min) + tau
    radiusearthkm, xke, twopi = gravity.radiusearthkm, gravity.xke, TWOPI
    vkmpersec = radiusearthkm * xke / 60.0

    # Secular gravity and atmospheric drag (anchored linear part, module docstring point 2).
    xmdf = cast(anchor.xmdf) + p.mdot * tau
    argpdf = cast(anchor.argpdf) + p.argpdot * tau
    nodedf = cast(anchor.nodedf) + p.nodedot * tau
    t2 = t * t
    nodem = nodedf + p.nodecf * t2
    delomg = p.omgcof * t
    delmtemp = 1.0 + p.eta * jnp.cos(xmdf)
    delm = p.xmcof * (delmtemp * delmtemp * delmtemp - p.delmo)
    temp = delomg + delm
    mm = xmdf + temp
    argpm = argpdf - temp
    t3 = t2 * t
    t4 = t3 * t
    tempa = 1.0 - p.cc1 * t - p.d2 * t2 - p.d3 * t3 - p.d4 * t4
    tempe = p.bstar * p.cc4 * t + p.bstar * p.cc5 * (jnp.sin(mm) - p.sinmao)
    templ = p.t2cof * t2 + p.t3cof * t3 + t4 * (p.t4cof + t * p.t5cof)

    nm = p.no_unkozai
    am = (xke / nm) ** X2O3 * tempa * tempa
    nm = xke / (am * jnp.sqrt(am))  # am**1.5 without pow's exp/log
    em = p.ecco - tempe
    error = jnp.where(em >= 1.0, 1, 0)
    error = jnp.where(em < -0.001, 1, error)
    error = jnp.where(nm <= 0.0, 2, error)
    em = jnp.maximum(em, 1.0e-6)
    mm = mm + p.no_unkozai * templ
    # Vallado reduces nodem, argpm, xlm and mm modulo 2 pi here so that long propagations stay
    # bounded; the host anchors already bound them, so only Kepler's starting point u is reduced.

    sinip = jnp.sin(p.inclo)
    cosip = jnp.cos(p.inclo)

    # Long-period periodics.
    axnl = em * jnp.cos(argpm)
    temp = 1.0 / (am * (1.0 - em * em))
    aynl = em * jnp.sin(argpm) + temp * p.aycof
    xl = mm + argpm + nodem + temp * p.xlcof * axnl

    # Kepler's equation, solved for every element at once.
    u = xl - nodem
    u = u - twopi * jnp.round(u / twopi)  # cheaper than fmod on XLA:CPU; same sin/cos
    tolerance = _kepler_tolerance(dtype)

    def newton_step(state):
        ktr, eo1, sineo1, coseo1, active = state
        sineo1 = jnp.where(active, jnp.sin(eo1), sineo1)
        coseo1 = jnp.where(active, jnp.cos(eo1), coseo1)
        tem5 = 1.0 - coseo1 * axnl - sineo1 * aynl
        tem5 = (u - aynl * coseo1 + axnl * sineo1 - eo1) / tem5
        tem5 = jnp.clip(tem5, -0.95, 0.95)
        eo1 = jnp.where(active, eo1 + tem5, eo1)
        active = active & (jnp.abs(tem5) >= tolerance)
        return ktr + 1, eo1, sineo1, coseo1, active

    def keep_going(state):
        ktr, *_, active = state
        return (ktr <= 10) & jnp.any(active)

    zeros = jnp.zeros_like(u)
    _, _, sineo1, coseo1, _ = jax.lax.while_loop(
        keep_going, newton_step, (1, u, zeros, zeros, jnp.ones(u.shape, bool))
    )

    # Short-period preliminary quantities.
    ecose = axnl * coseo1 + aynl * sineo1
    esine = axnl * sineo1 - aynl * coseo1
    el2 = axnl * axnl + aynl * aynl
    pl = am * (1.0 - el2)
    error = jnp.where((error == 0) & (pl < 0.0), 4, error)
    rl = am * (1.0 - ecose)
    rdotl = jnp.sqrt(am) * esine / rl
    rvdotl = jnp.sqrt(pl) / rl
    betal = jnp.sqrt(1.0 - el2)
    temp = esine / (1.0 + betal)
    sinu = am / rl * (sineo1 - aynl - axnl * temp)
    cosu = am / rl * (coseo1 - axnl + aynl * temp)
    sin2u = (cosu + cosu) * sinu
    cos2u = 1.0 - 2.0 * sinu * sinu
    temp = 1.0 / pl
    temp1 = 0.5 * gravity.j2 * temp
    temp2 = temp1 * temp

    # Short-period periodics.
    mrt = rl * (1.0 - 1.5 * temp2 * betal * p.con41) + 0.5 * temp1 * p.x1mth2 * cos2u
    # Vallado: su = atan2(sinu, cosu) - 0.25 temp2 x7thm1 sin2u, xinc = inclo + ..., then the sines
    # and cosines of su and xinc. The corrections are below 1e-3 rad, so rotating the sines and
    # cosines already at hand gives the same numbers with five fewer transcendental calls.
    sinsu, cossu = _rotate_small(sinu, cosu, -0.25 * temp2 * p.x7thm1 * sin2u)
    sini, cosi = _rotate_small(sinip, cosip, 1.5 * temp2 * cosip * sinip * cos2u)
    xnode = nodem + 1.5 * temp2 * cosip * sin2u
    mvt = rdotl - nm * temp1 * p.x1mth2 * sin2u / xke
    rvdot = rvdotl + nm * temp1 * (p.x1mth2 * cos2u + 1.5 * p.con41) / xke

    # Orientation vectors.
    snod, cnod = jnp.sin(xnode), jnp.cos(xnode)
    xmx = -snod * cosi
    xmy = cnod * cosi
    ux = xmx * sinsu + cnod * cossu
    uy = xmy * sinsu + snod * cossu
    uz = sini * sinsu
    vx = xmx * cossu - cnod * sinsu
    vy = xmy * cossu - snod * sinsu
    vz = sini * cossu

    mr = mrt * radiusearthkm
    r_km = jnp.stack([mr * ux, mr * uy, mr * uz], axis=-1)
    v_km_s = jnp.stack([(mvt * ux + rvdot * vx), (mvt * uy + rvdot * vy), (mvt * uz + rvdot * vz)], axis=-1)
    v_km_s = v_km_s * vkmpersec
    error = jnp.where((error == 0) & (mrt < 1.0), 6, error)
    # Codes 1-4 are returned before positions exist in Vallado's code: NaN rows, as the package does.
    invalid = ((error >= 1) & (error <= 4))[..., None]
    r_km = jnp.where(invalid, jnp.nan, r_km)
    v_km_s = jnp.where(invalid, jnp.nan, v_km_s)
    return r_km, v_km_s, error.astype(jnp.int8)


def _rotate_small(sin_a, cos_a, delta):
    """(sin(a + delta), cos(a + delta)) from sin a, cos a for |delta| <= 1e-2 rad.

    Taylor series of sin and cos of delta; the first omitted terms, delta^7/5040 and
    delta^8/40320, are below 3e-18 there.
    """
    d2 = delta * delta
    sin_d = delta * (1.0 - d2 / 6.0 * (1.0 - d2 / 20.0))
    cos_d = 1.0 - d2 / 2.0 * (1.0 - d2 / 12.0 * (1.0 - d2 / 30.0))
    return sin_a * cos_d + cos_a * sin_d, cos_a * cos_d - sin_a * sin_d


_propagate_jit = jax.jit(_propagate, static_argnames=("gravity",))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Ephemeris:
    """Positions and velocities in TEME, [sat, time, 3], and SGP4 error codes [sat, time]."""

    r_km: jax.Array
    v_km_s: jax.Array
    error: jax.Array


@dataclasses.dataclass(frozen=True)
class Propagator:
    """Initialised SGP4 for a set of satellites, ready to propagate in one precision.

    Build with `Propagator.create(elements, dtype)`; initialisation runs once on the host.
    """

    elements: Elements
    params: Sgp4Params  # device arrays in `dtype`
    params_f64: Sgp4Params  # host float64, for anchors
    deep_space: np.ndarray  # [sat] bool, routed to the sgp4 package
    dtype: np.dtype
    gravity: Gravity = WGS72

    @staticmethod
    def create(elements: Elements, dtype=jnp.float64, gravity: Gravity = WGS72) -> "Propagator":
        if jnp.dtype(dtype) == jnp.float64 and not jax.config.jax_enable_x64:
            # JAX would silently run it in float32
            raise InputError("a float64 propagation needs JAX's float64 mode", source="Propagator", field="dtype",
                             expected="jax.config.update('jax_enable_x64', True) first "
                                      "(placement.pipeline.enable_float64()), or float32")
        params_f64, deep_space = sgp4_init(elements, gravity)
        if deep_space.any():
            names = ", ".join(elements.name[i] for i in np.flatnonzero(deep_space)[:5])
            warnings.warn(
                f"{int(deep_space.sum())} deep-space satellite(s) (period >= 225 min; e.g. {names}) "
                "are propagated by the sgp4 package on the host, in float64, not by the JAX kernel",
                stacklevel=2,
            )
        return Propagator(
            elements=elements,
            params=params_f64.astype(dtype),
            params_f64=params_f64,
            deep_space=deep_space,
            dtype=jnp.dtype(dtype),
            gravity=gravity,
        )

    def tsince(self, tsince_min: np.ndarray) -> Ephemeris:
        """Propagate to arbitrary times [sat, time], minutes since each satellite's epoch."""
        tsince_min = np.asarray(tsince_min, dtype=np.float64)
        if tsince_min.ndim != 2 or tsince_min.shape[0] != len(self.elements):
            raise ValueError(f"tsince_min must be [sat={len(self.elements)}, time], got {tsince_min.shape}")
        anchor = anchors(self.params_f64, tsince_min)
        r, v, e = _propagate_jit(self.params, anchor, jnp.zeros(1, self.dtype), self.gravity)
        ephemeris = Ephemeris(r[:, :, 0], v[:, :, 0], e[:, :, 0])
        return self._with_deep_space(ephemeris, tsince_min)

    def grid(self, grid: TimeGrid, segment_min: float = 90.0) -> Ephemeris:
        """Propagate every satellite over a regular time grid: [sat, time, 3].

        The grid is cut into segments of about `segment_min` minutes; the host anchors each
        segment's secular angles in float64 (module docstring, point 2).
        """
        steps_per_segment = _steps_per_segment(grid.n_steps, grid.step_s, segment_min)
        return self._segments(grid, steps_per_segment, -(-grid.n_steps // steps_per_segment))

    def chunks(self, grid: TimeGrid, chunk_steps: int, segment_min: float = 90.0) -> Iterator[tuple[TimeGrid, Ephemeris]]:
        """Stream a long horizon: (sub-grid, ephemeris) for consecutive chunks of `chunk_steps` steps.

        Every chunk, the shorter last one included, runs the same kernel shape: one compilation.
        """
        chunk_steps = min(chunk_steps, grid.n_steps)
        steps_per_segment = _steps_per_segment(chunk_steps, grid.step_s, segment_min)
        n_segments = -(-chunk_steps // steps_per_segment)
        for sub in grid.chunks(chunk_steps):
            yield sub, self._segments(sub, steps_per_segment, n_segments)

    def _segments(self, grid: TimeGrid, steps_per_segment: int, n_segments: int) -> Ephemeris:
        step_min = grid.step_s / 60.0
        tsince0 = grid.tsince_min(self.elements)[:, :1]  # [sat, 1] minutes since epoch at grid start
        segment_start_min = np.arange(n_segments) * steps_per_segment * step_min
        anchor = anchors(self.params_f64, tsince0 + segment_start_min[None, :])
        tau = jnp.asarray(np.arange(steps_per_segment) * step_min, dtype=self.dtype)
        r, v, e = _propagate_jit(self.params, anchor, tau, self.gravity)
        n_sat = len(self.elements)
        flat = lambda a: a.reshape((n_sat, n_segments * steps_per_segment) + a.shape[3:])[:, : grid.n_steps]  # noqa: E731
        ephemeris = Ephemeris(flat(r), flat(v), flat(e))
        if self.deep_space.any():
            ephemeris = self._with_deep_space(ephemeris, grid.tsince_min(self.elements))
        return ephemeris

    def _with_deep_space(self, ephemeris: Ephemeris, tsince_min: np.ndarray) -> Ephemeris:
        if not self.deep_space.any():
            return ephemeris
        rows = np.flatnonzero(self.deep_space)
        r, v, e = _reference_tsince(self.elements.take(rows), tsince_min[rows], self.gravity)
        return Ephemeris(
            r_km=ephemeris.r_km.at[rows].set(r.astype(self.dtype)),
            v_km_s=ephemeris.v_km_s.at[rows].set(v.astype(self.dtype)),
            error=ephemeris.error.at[rows].set(e.astype(np.int8)),
        )


def _steps_per_segment(n_steps: int, step_s: float, segment_min: float) -> int:
    return max(1, min(n_steps, int(segment_min * 60.0 // step_s)))


def to_satrecs(elements: Elements) -> list:
    """The `sgp4` package's Satrec for each satellite, initialised from the same elements (WGS72, 'i')."""
    from sgp4.api import WGS72 as SGP4_WGS72
    from sgp4.api import Satrec

    satrecs = []
    for i in range(len(elements)):
        satrec = Satrec()
        satrec.sgp4init(
            SGP4_WGS72, "i", int(elements.satnum[i]) % 100000,
            # sgp4init's epoch is days since 1949-12-31 00:00 UT (JD 2433281.5)
            (elements.jdsatepoch[i] - 2433281.5) + elements.jdsatepochF[i],
            elements.bstar[i], elements.ndot[i], elements.nddot[i], elements.ecco[i],
            elements.argpo[i], elements.inclo[i], elements.mo[i], elements.no_kozai[i], elements.nodeo[i],
        )
        satrecs.append(satrec)
    return satrecs


def _reference_tsince(elements: Elements, tsince_min: np.ndarray, gravity: Gravity):
    """The `sgp4` package (Vallado's C++), for satellites this module does not propagate itself."""
    if gravity != WGS72:
        raise ValueError("the deep-space fallback (the sgp4 package) is set up for WGS72 only")
    n_sat, n_time = tsince_min.shape
    r = np.empty((n_sat, n_time, 3))
    v = np.empty((n_sat, n_time, 3))
    e = np.empty((n_sat, n_time), dtype=np.int8)
    for i, satrec in enumerate(to_satrecs(elements)):
        for j, t in enumerate(tsince_min[i]):
            e[i, j], r[i, j], v[i, j] = satrec.sgp4_tsince(t)
    return r, v, e


def propagate(elements: Elements, grid: TimeGrid, dtype=jnp.float64) -> Ephemeris:
    """One-call propagation of `elements` over `grid`: TEME r_km, v_km_s [sat, time, 3], error codes."""
    return Propagator.create(elements, dtype).grid(grid)
