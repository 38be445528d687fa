"""Results: run directories written atomically (`rundir`), the run's tables (`tables`), and the analysis the
notebooks do on run directories read back (`analysis`). The names below are the package's face."""

from placement.results.analysis import (
    ECLIPSE_SUNLIT_FRACTION, RUN_TABLES, SUMMARY_METRICS, DemandFilter, Run, best_strategy, comparison,
    describe_differences, differences, figures_dir, host_summary, key_strategies, latency_quantile, load_run,
    load_runs, markdown_table, pick, runs_from_environment, served, served_by, sites_in, sites_in_runs,
    summarize, write_report)
from placement.results.rundir import (
    MARKER, claim, environment, format_table, git_revision, json_text, machine_tag, marker_kind, run_directory,
    save_benchmark, write_json, write_marker, write_table)

__all__ = [
    "ECLIPSE_SUNLIT_FRACTION", "RUN_TABLES", "SUMMARY_METRICS", "DemandFilter", "Run", "best_strategy",
    "comparison", "describe_differences", "differences", "figures_dir", "host_summary", "key_strategies",
    "latency_quantile", "load_run", "load_runs", "markdown_table", "pick", "runs_from_environment", "served",
    "served_by", "sites_in", "sites_in_runs", "summarize", "write_report", "MARKER", "claim", "environment",
    "format_table", "git_revision", "json_text", "machine_tag", "marker_kind", "run_directory", "save_benchmark",
    "write_json",
    "write_marker", "write_table",
]
