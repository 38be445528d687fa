# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Drones over Mato Grosso: does detecting in orbit pay when gateways are near?
#
# Crop-spraying drones over the soy and cotton farms of Mato Grosso send video frames to a detector that
# tells the sprayer where to open (configs/brazil-agri-drones.toml: YOLOv8n, 150 ms). Brazil has many
# Starlink gateways and an Azure region in Sao Paulo: is the gateway edge as good as the satellites
# overhead? And the satellites' side of it: an Orin in eclipse runs on a battery share, so how much of the
# load do they take, how much of it in eclipse, and how busy does the busiest one get? Compared for the
# demands of Brazilian sites, per run and strategy, and each run against the first.
#
#     placement run configs/brazil-agri-drones.toml
#     python experiments/notebooks/brazil_agri_drones.py    # reads runs/brazil-agri-drones*
#
# and writes runs/figures/brazil-agri-drones/.

# %%
from placement import plots, results

SCENARIO = "brazil-agri-drones"
runs = results.runs_from_environment(SCENARIO)
out = results.figures_dir(SCENARIO)
farms = results.sites_in_runs(runs, {"BR"}, "Brazilian")
print("runs:", ", ".join(run.label for run in runs))

# %%
rows = results.comparison(runs, farms)
print(results.markdown_table(rows))

# %% [markdown]
# The busiest satellites of each run's best strategy: the requests they serve and their peak compute and
# link utilisation over the horizon.

# %%
satellites = [row for run in runs if results.best_strategy(run) is not None
              for row in results.host_summary(run, results.best_strategy(run), farms, top=10)
              if row["host_kind"] == "satellite"]
print(results.markdown_table(satellites))

# %%
plots.save(plots.latency_cdf(runs, demands=farms, title="Mato Grosso drones: latency", mark_slos=True),
           out / "latency_cdf.png")
plots.save(plots.share_bars(rows, "Mato Grosso drones: where the frames were processed"), out / "shares.png")
for run in runs:
    plots.save(plots.power(run), out / f"power-{plots.slug(run.label)}.png")
    plots.save(plots.utilisation(run), out / f"utilisation-{plots.slug(run.label)}.png")

# %%
lines = []
for run in runs:
    best = results.pick(rows, run=run.label, strategy=results.best_strategy(run))
    if best is None:
        continue
    busiest = max((row["peak_compute_utilization"] for row in satellites if row["run"] == run.label), default=0.0)
    edge = results.pick(rows, run=run.label, strategy="nearest_gateway")
    lines.append(f"- {run.label}: {best['strategy']} serves {best['share_satellite']:.0%} of the frames on "
                 f"{best['satellites_used']} satellites ({best['eclipse_share_in_orbit']:.0%} of those in eclipse), "
                 f"the busiest at {busiest:.0%} of its compute; mean {best['mean_latency_ms']:.1f} ms, "
                 f"{best['slo_attainment']:.1%} within SLO"
                 + (f"; the gateway edge: mean {edge['mean_latency_ms']:.1f} ms, {edge['slo_attainment']:.1%} "
                    f"within SLO" if edge else ""))
report = results.write_report(out, "Drones over Mato Grosso: video frame detection",
                              "\n".join(lines) or "No strategy found a feasible placement.",
                              {"comparison": rows, "busiest_satellites": satellites,
                               "differences": results.differences(rows)})
print(report.read_text())
