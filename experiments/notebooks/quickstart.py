# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Quick start: where do a detector and a 1B language model run best?
#
# Eight sites (community hubs in Kenya, farms in Mato Grosso, two North Sea platforms) ask for a small
# object detector and a 1B language model, over one hour of Starlink Gen1 shell 1. Which strategy serves
# them fastest, and where (satellites overhead, gateways, cloud regions) do their requests go?
#
#     placement run configs/quickstart.toml                 # writes runs/quickstart/
#     python experiments/notebooks/quickstart.py            # writes runs/figures/quickstart/
#
# Any other runs can be given instead: `PLACEMENT_RUNS=dir1:dir2` (run directories, or sweep directories
# standing for all of their points); figures and the summary go to `$PLACEMENT_FIGURES`. Open this file as
# a notebook with jupytext, or run it as a script.

# %%
from placement import plots, results

SCENARIO = "quickstart"
runs = results.runs_from_environment(SCENARIO)
out = results.figures_dir(SCENARIO)
print("runs:", ", ".join(f"{run.label} ({run.path})" for run in runs))

# %% [markdown]
# Per run and strategy: request-weighted mean and p95 latency, SLO attainment, where the requests were
# served and how much went unserved; per model too. With several runs, each is compared with the first.

# %%
rows = results.comparison(runs)
by_model = results.comparison(runs, by="model")
print(results.markdown_table(rows))

# %%
plots.save(plots.latency_cdf(runs), out / "latency_cdf.png")
plots.save(plots.share_bars(rows, "where the requests were served"), out / "shares.png")
plots.save(plots.metric_bars(rows, ["mean_latency_ms", "p95_latency_ms", "slo_attainment"], "latency per strategy"),
           out / "latency.png")
for run in runs:
    plots.save(plots.world_map(run, results.best_strategy(run)), out / f"map-{plots.slug(run.label)}.png")
    plots.save(plots.power(run), out / f"power-{plots.slug(run.label)}.png")

# %%
lines = []
for run in runs:
    best, cloud = results.pick(rows, run=run.label, strategy=results.best_strategy(run)), \
        results.pick(rows, run=run.label, strategy="cloud_only")
    if best is not None:
        lines.append(f"- {run.label}: {best['strategy']} is best, mean {best['mean_latency_ms']:.1f} ms, "
                     f"{best['share_satellite']:.0%} of requests on satellites, {best['share_cloud']:.0%} in the cloud"
                     + (f"; cloud only: {cloud['mean_latency_ms']:.1f} ms" if cloud else ""))
report = results.write_report(out, "Quick start", "\n".join(lines) or "No strategy found a feasible placement.",
                              {"comparison": rows, "by_model": by_model, "differences": results.differences(rows)})
print(report.read_text())
