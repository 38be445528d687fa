# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Offshore platforms in the North Sea: can real-time vision meet its deadline?
#
# Offshore platforms watch their decks, flares and sea surface with cameras; a detector must flag a person
# without a helmet, a leak or a boat within a frame or two (configs/north-sea-rigs.toml: YOLOv8s, 40 ms).
# Served on the satellites overhead, at the gateways on the British and Norwegian coasts, or in the cloud:
# which meets the SLO for how many frames? This compares, for the demands of North Sea sites (platforms of
# GB, NO, NL, DK, DE), the SLO attainment and latency of every strategy and model, and each run against
# the first.
#
#     placement run configs/north-sea-rigs.toml
#     python experiments/notebooks/north_sea_rigs.py        # reads runs/north-sea-rigs*
#
# and writes runs/figures/north-sea-rigs/.

# %%
from placement import plots, results

SCENARIO = "north-sea-rigs"
runs = results.runs_from_environment(SCENARIO)
out = results.figures_dir(SCENARIO)
rigs = results.sites_in_runs(runs, {"GB", "NO", "NL", "DK", "DE"}, "North Sea")
print("runs:", ", ".join(run.label for run in runs))

# %% [markdown]
# SLO attainment is the share of all requests served within their objective: a frame served late or not at
# all counts against it. Per model, since detectors and language models have different deadlines.

# %%
rows = results.comparison(runs, rigs)
by_model = results.comparison(runs, rigs, by="model")
print(results.markdown_table(by_model))

# %%
plots.save(plots.latency_cdf(runs, demands=rigs, title="North Sea platforms: latency against the SLOs",
                             mark_slos=True), out / "latency_cdf.png")
plots.save(plots.metric_bars(rows, ["slo_attainment", "p95_latency_ms", "share_satellite"], "North Sea platforms"),
           out / "slo.png")
plots.save(plots.share_bars(rows, "North Sea platforms: where the requests were served"), out / "shares.png")

# %%
lines = []
for run in runs:
    ranked = sorted((row for row in rows if row["run"] == run.label), key=lambda row: -row["slo_attainment"])
    lines.append(f"- {run.label}: " + "; ".join(
        f"{row['strategy']} {row['slo_attainment']:.1%} within SLO (p95 {row['p95_latency_ms']:.1f} ms)"
        for row in ranked))
report = results.write_report(out, "North Sea platforms: real-time vision", "\n".join(lines),
                              {"comparison": rows, "by_model": by_model, "differences": results.differences(rows)})
print(report.read_text())
