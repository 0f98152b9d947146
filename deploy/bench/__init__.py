"""A benchmark of the stream processor: a burst of commands through the real system (broker, worker
subprocesses, a Dentrix sandbox subprocess), timed from send to answer. Run
``python -m deploy.bench.relay_bench --help``; it prints figures and asserts nothing about them."""

from deploy.bench.stats import CaseResult, render_table, summarize

__all__ = ["CaseResult", "render_table", "summarize"]
