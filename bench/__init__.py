"""Benchmarks: measure quality and speed; the tests check behaviour, these put numbers on it.

`bench/quality/` is the quality evaluation (XQuAD-ar retrieval and answers, the second stage's
fit), `bench/perf/` the performance tools (speed and memory, embedding, growth, soak); the run
(`python -m bench`), its targets and its report sit here.
"""

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
DEFAULT_CACHE = BENCH_DIR / ".cache"
SEEDS = PROJECT_ROOT / "seeds"
