# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Stack against stack: Azure + Starlink, AWS + Kuiper
#
# Each run (a sweep point) is one operator's system with its own constellation, ground segment, cloud
# regions, link budgets and registry (configs/starlink-vs-kuiper.toml; `placement list systems`), or, for
# the control, one filed constellation on Starlink's ground (configs/starlink-vs-kuiper-filings.toml). For the
# same sites and models: the latency distribution per stack, the share served in orbit, the sites each stack
# leaves underserved (requests unserved or over their SLO) and what each stack costs against the first run.
#
#     placement sweep configs/starlink-vs-kuiper.toml --grid system=azure-starlink,aws-kuiper
#     python experiments/notebooks/starlink_vs_kuiper.py    # reads runs/starlink-vs-kuiper*
#
# and writes runs/figures/starlink-vs-kuiper/ (or name the runs through `PLACEMENT_RUNS`).

# %%
from placement import plots, results

SCENARIO = "starlink-vs-kuiper"
runs = results.runs_from_environment(SCENARIO)
out = results.figures_dir(SCENARIO)
stack = {run.label: run.config.get("system") or run.config["constellation"]["builtin"]
         or run.config["constellation"]["file"] for run in runs}
print("runs:", ", ".join(f"{label} ({name})" for label, name in stack.items()))

# %%
rows = [{"stack": stack[row["run"]], **row} for row in results.comparison(runs)]
print(results.markdown_table(rows))

# %%
plots.save(plots.latency_cdf(runs, results.key_strategies(runs), title="latency per stack"),
           out / "latency_cdf.png")
plots.save(plots.metric_bars(rows, ["mean_latency_ms", "share_satellite", "satellites_used"], "per stack"),
           out / "stacks.png")
for run in runs:
    plots.save(plots.world_map(run, results.best_strategy(run)), out / f"map-{plots.slug(run.label)}.png")

# %% [markdown]
# Sites each stack leaves underserved: under its best strategy, a site with requests unserved or answered
# over their SLO.

# %%
by_site = [row for run in runs for row in results.comparison([run], by="site")
           if row["strategy"] == results.best_strategy(run)]
TOLERANCE = 1e-9  # shares are sums of floats: 3e-16 unserved is all served
underserved = [{"stack": stack[row["run"]], **row} for row in by_site
               if row["unserved_share"] > TOLERANCE or row["slo_attainment"] < 1 - TOLERANCE]
print(results.markdown_table(underserved) if underserved else "No site underserved.")

# %%
metrics = ("mean_latency_ms", "p95_latency_ms", "share_satellite", "satellites_used")
text = "\n".join(f"- {label}: {name}" for label, name in stack.items()) + "\n\n" + \
    results.describe_differences(rows, metrics)
report = results.write_report(out, "Stack against stack", text,
                              {"comparison": rows, "differences": results.differences(rows),
                               "underserved": underserved})
print(report.read_text())
