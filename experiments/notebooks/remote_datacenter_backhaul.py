# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # A remote renewable AI cluster with the constellation as its backhaul
#
# An AI cluster built where the energy is, not where the fiber is (configs/remote-datacenter-backhaul.toml:
# next to the Lake Turkana wind farm in northern Kenya) reaches its users only through the satellites: a
# ground host whose traffic comes up and down through the constellation (a gateway with no fiber,
# `pop = "none"`; its requests count as served at a gateway). How much of East Africa's load does it take
# from the distant cloud regions, at what latency, and is its link (the backhaul) or its compute the limit?
# Compared per run and strategy, with the ground hosts that serve most requests and their peak link and
# compute utilisation.
#
#     placement run configs/remote-datacenter-backhaul.toml
#     python experiments/notebooks/remote_datacenter_backhaul.py   # reads runs/remote-datacenter-backhaul*

# %%
from placement import plots, results

SCENARIO = "remote-datacenter-backhaul"
runs = results.runs_from_environment(SCENARIO)
out = results.figures_dir(SCENARIO)
focus = results.key_strategies(runs, also=("nearest_gateway", "cloud_only"))
print("runs:", ", ".join(run.label for run in runs))

# %%
rows = results.comparison(runs)
print(results.markdown_table(rows))

# %% [markdown]
# The ground hosts (gateways and the cluster, cloud regions) that serve most requests under each strategy in
# focus. A peak link utilisation near 1 means the backhaul, not the compute, limits what the cluster takes.

# %%
ground = [row for run in runs for name in focus if name in run.strategies
          for row in results.host_summary(run, name, top=20) if row["host_kind"] != "satellite"]
print(results.markdown_table(ground))

# %%
plots.save(plots.share_bars(rows, "where the requests were served"), out / "shares.png")
plots.save(plots.latency_cdf(runs, focus, title="request-weighted latency"), out / "latency_cdf.png")
for run in runs:
    plots.save(plots.utilisation(run), out / f"utilisation-{plots.slug(run.label)}.png")
    plots.save(plots.world_map(run, results.best_strategy(run)), out / f"map-{plots.slug(run.label)}.png")

# %%
lines = []
for run in runs:
    for name in focus:
        top = results.pick(ground, run=run.label, strategy=name)
        if top is not None:
            lines.append(f"- {run.label}, {name}: the busiest ground host is {top['host']} ({top['host_kind']}), "
                         f"{top['share']:.0%} of all requests, peak link {top['peak_link_utilization']:.0%}, "
                         f"peak compute {top['peak_compute_utilization']:.0%}")
report = results.write_report(out, "A remote AI cluster with the constellation as backhaul",
                              "\n".join(lines) or "No ground host serves any request.",
                              {"comparison": rows, "ground_hosts": ground, "differences": results.differences(rows)})
print(report.read_text())
