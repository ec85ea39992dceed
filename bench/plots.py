"""PNG plots of a run: recall@k per system, and query time and index size against corpus size.

matplotlib is imported lazily with the Agg backend (no display needed); without it the
run still writes its Markdown and JSON and says the plots were skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TARGET_P50_MS = 30.0
TARGET_P95_MS = 100.0


def available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def recall_curves(results: dict[str, Any], path: Path, split: str = "test") -> Path:
    """Recall@k (k = 1..10) of every system on one split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    ks = list(range(1, 11))
    styles = [("o", "-"), ("s", "--"), ("^", "-."), ("D", ":"), ("v", "--"), ("x", "-")]
    for i, (key, system) in enumerate(results["retrieval"].items()):
        curve = system[split]["recall_curve"]
        marker, line = styles[i % len(styles)]
        # Systems that tie (dense and the stock pipeline often do) stay visible by their style.
        ax.plot(ks, curve, marker=marker, linestyle=line, markersize=4, label=f"{key} (R@1 {curve[0]:.3f})")
    ax.set_xlabel("k (paragraphs returned)")
    ax.set_ylabel(f"recall@k, XQuAD-ar {split} half")
    ax.set_xticks(ks)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"Retrieval on XQuAD-ar ({results['meta']['machine']['label']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def abstention_curve(results: dict[str, Any], path: Path) -> Path:
    """Declined share of answerable vs out-of-corpus questions at each abstention threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for split, style in (("test", "-"), ("dev", ":")):
        curve = results["answer_shape"][split]["abstention_curve"]
        if not curve:
            continue
        ax.plot(
            [100 * c["answerable_declined"] for c in curve],
            [100 * c["absent_declined"] for c in curve],
            marker="o",
            markersize=3,
            linestyle=style,
            label=f"{split} half",
        )
        point = results["answer_shape"][split]
        ax.plot([100 * point["answerable_declined"]], [100 * point["absent_declined"]], "k*", markersize=10)
    ax.axvline(2, color="grey", linewidth=0.8, linestyle="--")
    ax.axhline(95, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xlabel("answerable questions declined (%)")
    ax.set_ylabel("questions whose article is not indexed: declined (%)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Abstention curve (★ = shipped threshold; targets dashed)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def growth(results: dict[str, Any], path: Path) -> Path:
    """Warm question time (p50/p95) and index size against corpus size, log-scaled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results["growth"]["sizes"]
    keys = sorted(sizes, key=int)
    xs = [sizes[k]["paragraphs"] for k in keys]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=120)
    default = results["meta"].get("omp_num_threads")
    runs = [(f" (OMP_NUM_THREADS={default})" if default else "", results["growth"], "-")]
    runs += [(f" ({r['label']})", r, ":") for r in results.get("growth_reruns", [])]
    for suffix, run, line in runs:
        run_sizes = run["sizes"]
        run_keys = sorted(run_sizes, key=int)
        run_xs = [run_sizes[k]["paragraphs"] for k in run_keys]
        for name, what, marker in (
            ("ask total p50", ("total", "p50"), "o"),
            ("ask total p95", ("total", "p95"), "s"),
            ("retrieve p50", ("retrieve", "p50"), "^"),
        ):
            values = [run_sizes[k]["latency_ms"][what[0]][what[1]] for k in run_keys]
            left.plot(run_xs, values, marker=marker, linestyle=line, label=name + suffix)
    left.axhline(TARGET_P50_MS, color="black", linestyle=(0, (1, 3)), linewidth=1, label="target p50 30 ms")
    left.axhline(
        TARGET_P95_MS, color="dimgray", linestyle=(0, (5, 3)), linewidth=1, label="target p95 100 ms"
    )
    left.set_xscale("log")
    left.set_yscale("log")  # a loaded machine can put p95 two orders above p50
    left.set_xlabel("paragraphs in the index")
    left.set_ylabel("warm per-question time (ms)")
    left.grid(alpha=0.3, which="both")
    left.legend(fontsize=8)
    right.plot(xs, [sizes[k]["disk_bytes"]["total"] / 2**20 for k in keys], "o-", label="total")
    right.plot(xs, [sizes[k]["disk_bytes"]["chroma"] / 2**20 for k in keys], "s--", label="Chroma")
    right.plot(xs, [sizes[k]["disk_bytes"]["lexical"] / 2**20 for k in keys], "^--", label="BM25")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("paragraphs in the index")
    right.set_ylabel("index size on disk (MiB)")
    right.grid(alpha=0.3, which="both")
    right.legend(fontsize=8)
    fig.suptitle(f"Growth ({results['meta']['machine']['label']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def growth_lines(rows: list[dict[str, Any]], path: Path, label: str) -> Path:
    """`python -m bench growth` objects: question time and bytes per paragraph against size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda r: int(r["paragraphs"]))
    xs = [int(r["paragraphs"]) for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=120)
    for name, key, marker in (
        ("ask p50", "ask_p50_ms", "o"),
        ("ask p95", "ask_p95_ms", "s"),
        ("stock dense retriever p50", "stock_retrieve_p50_ms", "^"),
    ):
        line = "-" if "ask" in name else ":"
        left.plot(xs, [r[key] for r in rows], marker=marker, linestyle=line, label=name)
    left.plot([1e5], [20], "k_", markersize=14, label="targets at 100k: p50 20, p95 50 ms")
    left.plot([1e5], [50], "k_", markersize=14)
    left.plot([1e6], [40], "kx", label="aim at 1M: p50 40 ms")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("paragraphs in the index")
    left.set_ylabel("warm per-question time (ms), 1 thread")
    left.grid(alpha=0.3, which="both")
    left.legend(fontsize=8)
    parts = ("chroma", "table", "lexical", "sources", "sentences")
    bottom = [0.0] * len(rows)
    for part in parts:
        heights = [r["disk_bytes"].get(part, 0) / r["paragraphs"] / 1000 for r in rows]
        right.bar([str(x) for x in xs], heights, bottom=bottom, label=part)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    right.axhline(6, color="black", linestyle=(0, (1, 3)), linewidth=1, label="target 6 KB")
    right.set_xlabel("paragraphs in the index")
    right.set_ylabel("KB on disk per paragraph")
    right.legend(fontsize=8)
    fig.suptitle(f"Growth ({label})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
