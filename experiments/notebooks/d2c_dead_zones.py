# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Phones in dead zones over Direct-to-Cell: can they call a small language model?
#
# Where no terminal and no cell tower exist, a phone reaches Starlink's Direct-to-Cell satellites directly,
# at a few Mbps per beam shared by every phone under it. A small language model answering text prompts
# needs little bandwidth per request: how many requests get through, how fast are they answered, and where
# do they run? Compared per run and strategy (and model), each run against the first; give a run over Ku
# terminals next to a Direct-to-Cell one to see what the access link costs.
#
#     placement run configs/d2c-dead-zones.toml
#     placement run configs/d2c-dead-zones.toml --set network.site_link=ku-terminal --out runs/d2c-ku
#     PLACEMENT_RUNS=runs/d2c-dead-zones:runs/d2c-ku python experiments/notebooks/d2c_dead_zones.py
#
# (without PLACEMENT_RUNS it reads runs/d2c-dead-zones*); it writes runs/figures/d2c-dead-zones/.

# %%
from placement import plots, results

SCENARIO = "d2c-dead-zones"
runs = results.runs_from_environment(SCENARIO)
out = results.figures_dir(SCENARIO)
for run in runs:
    print(f"{run.label}: site link {run.config['network']['site_link']}")

# %% [markdown]
# Requests that the access link cannot carry go unserved: the unserved share is the first answer, the
# latency of the served ones the second.

# %%
rows = results.comparison(runs)
by_model = results.comparison(runs, by="model")
print(results.markdown_table(rows))

# %%
plots.save(plots.share_bars(rows, "Direct-to-Cell phones: served where, and not served"), out / "shares.png")
plots.save(plots.metric_bars(rows, ["unserved_share", "slo_attainment", "mean_latency_ms"], "Direct-to-Cell phones"),
           out / "service.png")
plots.save(plots.latency_cdf(runs, results.key_strategies(runs), title="Direct-to-Cell phones: latency",
                             mark_slos=True), out / "latency_cdf.png")

# %%
lines = [f"- {row['run']} ({run.config['network']['site_link']}), {row['strategy']}: {row['unserved_share']:.1%} "
         f"not served, {row['slo_attainment']:.1%} within SLO, mean {row['mean_latency_ms']:.1f} ms"
         for run in runs for row in rows if row["run"] == run.label and row["strategy"] == results.best_strategy(run)]
text = "\n".join(lines) + "\n\n" + results.describe_differences(rows, ("unserved_share", "mean_latency_ms"))
report = results.write_report(out, "Phones over Direct-to-Cell calling a small language model", text,
                              {"comparison": rows, "by_model": by_model, "differences": results.differences(rows)})
print(report.read_text())
