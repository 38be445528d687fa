# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # The same workload on Starlink Gen1 and on Kuiper
#
# Kuiper flies fewer satellites (3,236 against 4,408), higher, at lower inclinations and with a steeper user
# mask (configs/starlink-vs-kuiper.toml). For the same sites and models, how do latency, the share served
# in orbit and the number of satellites used compare? Each run (a sweep point) is labelled with its
# constellation; every run is compared against the first.
#
#     placement sweep configs/starlink-vs-kuiper.toml --grid constellation.builtin=starlink-gen1,kuiper
#     python experiments/notebooks/starlink_vs_kuiper.py    # reads runs/starlink-vs-kuiper*
#
# and writes runs/figures/starlink-vs-kuiper/ (or give two `placement run`s, one per constellation, through
# `PLACEMENT_RUNS`).

# %%
from placement import plots, results

SCENARIO = "starlink-vs-kuiper"
runs = results.runs_from_environment(SCENARIO)
out = results.figures_dir(SCENARIO)
constellation = {run.label: run.config["constellation"]["builtin"] or run.config["constellation"]["file"]
                 for run in runs}
print("runs:", ", ".join(f"{label} ({name})" for label, name in constellation.items()))

# %%
rows = [{"constellation": constellation[row["run"]], **row} for row in results.comparison(runs)]
print(results.markdown_table(rows))

# %%
plots.save(plots.latency_cdf(runs, results.key_strategies(runs), title="latency per constellation"),
           out / "latency_cdf.png")
plots.save(plots.metric_bars(rows, ["mean_latency_ms", "share_satellite", "satellites_used"], "per constellation"),
           out / "constellations.png")
for run in runs:
    plots.save(plots.world_map(run, results.best_strategy(run)), out / f"map-{plots.slug(run.label)}.png")
    plots.save(plots.power(run), out / f"power-{plots.slug(run.label)}.png")

# %%
metrics = ("mean_latency_ms", "p95_latency_ms", "share_satellite", "satellites_used")
text = "\n".join(f"- {label}: {name}" for label, name in constellation.items()) + "\n\n" + \
    results.describe_differences(rows, metrics)
report = results.write_report(out, "Starlink Gen1 against Kuiper", text,
                              {"comparison": rows, "differences": results.differences(rows)})
print(report.read_text())
