# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Community hubs in Kenya: what would a gateway in Kenya change?
#
# 450 community hubs in rural Kenya (configs/kenya-hubs.toml) ask for a crop-disease classifier, speech
# recognition and a 1B language model. Kenya has no Starlink gateway (the nearest are in Nigeria) and Azure
# no East-African region, so without satellites their requests travel far. configs/kenya-hubs-gateway.toml
# adds a gateway with fiber in Nairobi. This compares every run found against the first, over the demands
# of Kenyan sites: latency, where requests are served, and which gateways serve them.
#
#     placement run configs/kenya-hubs.toml
#     placement run configs/kenya-hubs-gateway.toml
#     python experiments/notebooks/kenya_hubs.py            # reads runs/kenya-hubs*, writes runs/figures/kenya-hubs/
#
# `PLACEMENT_RUNS` (run or sweep directories, os.pathsep-separated) and `PLACEMENT_FIGURES` override both.

# %%
from placement import plots, results

SCENARIO = "kenya-hubs"
runs = results.runs_from_environment(SCENARIO)
out = results.figures_dir(SCENARIO)
kenya = results.sites_in_runs(runs, {"KE"}, "Kenyan")
focus = results.key_strategies(runs, also=("nearest_gateway", "cloud_only"))
print("runs:", ", ".join(run.label for run in runs), "| strategies in focus:", ", ".join(focus))

# %% [markdown]
# Latency and where the Kenyan requests go, per run and strategy and per model, then each run against the
# first (with a Kenyan gateway, `nearest_gateway` should gain most: its edge moves from Lagos to Nairobi).

# %%
rows = results.comparison(runs, kenya)
by_model = results.comparison(runs, kenya, by="model")
print(results.markdown_table(rows))

# %% [markdown]
# The hosts that serve the Kenyan requests, most first, under the strategies in focus.

# %%
serving = [row for run in runs for name in focus if name in run.strategies
           for row in results.host_summary(run, name, kenya, top=5)]
print(results.markdown_table(serving))

# %%
plots.save(plots.latency_cdf(runs, focus, kenya, "Kenyan hubs: request-weighted latency", mark_slos=True),
           out / "latency_cdf.png")
plots.save(plots.metric_bars(rows, ["mean_latency_ms", "p95_latency_ms", "share_gateway"], "Kenyan hubs"),
           out / "latency.png")
plots.save(plots.share_bars(rows, "Kenyan hubs: where the requests were served"), out / "shares.png")
for run in runs:
    plots.save(plots.world_map(run, "nearest_gateway" if "nearest_gateway" in run.strategies else None),
               out / f"map-{plots.slug(run.label)}.png")

# %%
text = results.describe_differences(rows, ("mean_latency_ms", "p95_latency_ms", "share_gateway"), focus)
report = results.write_report(out, "Community hubs in Kenya: what would a gateway in Kenya change?", text,
                              {"comparison": rows, "by_model": by_model, "differences": results.differences(rows),
                               "differences_by_model": results.differences(by_model, by="model"),
                               "serving_hosts": serving})
print(report.read_text())
