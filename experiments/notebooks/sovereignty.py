# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Data sovereignty: what does keeping requests in the EU cost in latency?
#
# A public service in the EU capitals whose requests may only be processed in EU member states
# (configs/sovereignty.toml: `allowed_jurisdictions = ["EU"]`) can use neither the satellites (registered in
# the US) nor gateways and cloud regions outside the EU. The same workload unrestricted shows what the rule
# costs. The first run found is the reference; the differences are each other run's latency and shares
# minus the reference's, per strategy.
#
#     placement sweep configs/sovereignty.toml --grid problem.enforce_jurisdictions=true,false
#     python experiments/notebooks/sovereignty.py           # reads runs/sovereignty*, writes runs/figures/sovereignty/
#
# The sweep's first point (true: EU only) is the reference, so the differences read "unrestricted minus EU
# only": the latency the rule costs, with the sign flipped.
#
# The rule may also bind the paths (`problem.transit`: "landing" keeps the gateways, points of presence and
# fiber in the EU, "overflight" also every satellite above an EU country or the sea):
#
#     placement sweep configs/sovereignty.toml --grid problem.transit=processing,landing,overflight

# %%
import numpy as np

from placement import plots, results
from placement.network import ground

SCENARIO = "sovereignty"
runs = results.runs_from_environment(SCENARIO)
out = results.figures_dir(SCENARIO)
for run in runs:
    allowed = sorted(set(run.table("demands")["allowed_jurisdictions"]) - {""})
    print(f"{run.label}: allowed jurisdictions {', '.join(allowed) or 'anywhere'}")

# %%
rows = results.comparison(runs)
print(results.markdown_table(rows))

# %% [markdown]
# Where the requests were processed, by the host's jurisdiction (satellites count as their state of
# registry), under each run's strategies in focus.

# %%
focus = results.key_strategies(runs, also=("cloud_only",))
jurisdictions = [row for run in runs for name in focus if name in run.strategies
                 for row in results.served_by(run, name, "host_jurisdiction")]
print(results.markdown_table(jurisdictions))

# %% [markdown]
# Where the served paths came down and reached fiber: the countries of the gateways and points of presence
# on them (paths.parquet, one row per path and network step).

# %%
country = {name: code for nodes in (ground.gateways(), ground.pops()) for name, code in zip(nodes.name, nodes.country)}
landings = []
for run in runs:
    paths = run.table("paths")
    for kind in ("gateway", "pop"):
        codes = [country.get(name, "?") for name in paths["node"][paths["node_kind"] == kind]]
        landings += [{"run": run.label, "node": kind, "country": code, "path_steps": int(count)}
                     for code, count in zip(*np.unique(codes, return_counts=True))]
print(results.markdown_table(landings))

# %%
plots.save(plots.latency_cdf(runs, focus, title="latency with and without the restriction", mark_slos=True),
           out / "latency_cdf.png")
plots.save(plots.metric_bars(rows, ["mean_latency_ms", "p95_latency_ms", "slo_attainment"], "latency per run"),
           out / "latency.png")
plots.save(plots.share_bars(rows, "where the requests were served"), out / "shares.png")

# %%
text = results.describe_differences(rows, ("mean_latency_ms", "p95_latency_ms", "unserved_share"), focus)
report = results.write_report(out, "Sovereignty: the latency cost of EU-only processing", text,
                              {"comparison": rows, "jurisdictions": jurisdictions, "landings": landings,
                               "differences": results.differences(rows)})
print(report.read_text())
