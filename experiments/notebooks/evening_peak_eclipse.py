# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # An evening peak under eclipsed satellites: how much does the battery cost?
#
# Sixteen rural Canadian towns send camera frames with a residential day's shape (configs/evening-peak-eclipse.toml:
# Orange France's fixed-network profile, highest at 22:00 local time), so the evening peak meets satellites in
# Earth's shadow, running on their batteries. This compares, hour by hour, the share served in orbit with the
# battery as it is and with a battery that never runs out, and counts the satellite-epochs that end empty.
#
#     placement run configs/evening-peak-eclipse.toml
#     placement run configs/evening-peak-eclipse.toml --set hosts.satellite_battery_wh=1000 --out runs/evening-peak-eclipse-no-battery-limit
#     python experiments/notebooks/evening_peak_eclipse.py      # reads runs/evening-peak-eclipse*
#
# and writes runs/figures/evening-peak-eclipse/.

# %%
import numpy as np
from matplotlib.figure import Figure

from placement import plots, results

SCENARIO = "evening-peak-eclipse"
runs = results.runs_from_environment(SCENARIO)
out = results.figures_dir(SCENARIO)
print("runs:", ", ".join(run.label for run in runs))

# %% [markdown]
# The whole day first: latency, where the requests were served, and how many satellite-epochs with a copy end
# with an empty battery (the battery's constraint binding there).

# %%
rows = results.comparison(runs)
for row in rows:
    metrics = next(run for run in runs if run.label == row["run"]).metrics["strategies"][row["strategy"]]
    row["battery_empty_host_epochs"] = metrics.get("battery_empty_host_epochs", 0)
print(results.markdown_table(rows, ["run", "strategy", "mean_latency_ms", "share_satellite", "share_cloud",
                                    "unserved_share", "battery_empty_host_epochs"]))
plots.save(plots.share_bars(rows, "Evening peak: where the requests were served"), out / "shares.png")
plots.save(plots.latency_cdf(runs, results.key_strategies(runs, ("greedy", "cloud_only")),
                             title="Evening peak: latency"), out / "latency_cdf.png")


# %% [markdown]
# Hour by hour (UTC; the towns' evening is 00:00-06:00 UTC): the share of each hour's served requests that a
# satellite served. Where the battery binds, the two runs part.

# %%
def in_orbit_by_hour(run, strategy):
    a = run.table("assignments", strategy)
    hour = (a["epoch_start_utc"].astype("datetime64[h]").astype(np.int64) % 24).astype(int)
    served = np.bincount(hour, a["requests"], 24)
    orbit = np.bincount(hour, np.where(a["host_kind"] == "satellite", a["requests"], 0.0), 24)
    return np.divide(orbit, served, out=np.full(24, np.nan), where=served > 0)


figure = Figure(figsize=(8, 4))
axes = figure.subplots()
hourly = []
for run in runs:
    for strategy in results.key_strategies([run], ("greedy",)):
        share = in_orbit_by_hour(run, strategy)
        axes.plot(np.arange(24), share, marker="o", label=f"{run.label}: {strategy}")
        hourly += [{"run": run.label, "strategy": strategy, "utc_hour": h, "share_satellite": float(share[h])}
                   for h in range(24) if np.isfinite(share[h])]
axes.set_xlabel("UTC hour")
axes.set_ylabel("served in orbit (share of the hour's served requests)")
axes.set_title("Evening peak: in-orbit share by hour")
axes.legend(fontsize=7)
plots.save(figure, out / "in_orbit_by_hour.png")

# %%
lines = [f"- {row['run']}, {row['strategy']}: {row['share_satellite']:.1%} in orbit, mean {row['mean_latency_ms']:.2f} ms, "
         f"{row['battery_empty_host_epochs']} satellite-epochs with an empty battery"
         for row in rows if row["strategy"] in results.key_strategies(runs, ("greedy",))]
text = "\n".join(lines) + "\n\n" + results.describe_differences(rows, ("share_satellite", "mean_latency_ms"))
report = results.write_report(out, "An evening peak under eclipsed satellites", text,
                              {"comparison": rows, "in_orbit_by_hour": hourly, "differences": results.differences(rows)})
print(report.read_text())
