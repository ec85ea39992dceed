"""The `isnad` command line: errors become one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from indexing.errors import IsnadError
from isnad.settings import Settings

log = logging.getLogger("isnad")


def _quiet_libraries() -> None:
    # Chroma's telemetry and httpx's request lines (which carry the bot token) stay silent.
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    for name in ("httpx", "chromadb", "chromadb.telemetry", "bm25s"):
        logging.getLogger(name).setLevel(logging.WARNING)


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """Run the indexing job and print its summary."""
    from indexing.lock import DataDirLock
    from indexing.pipeline import build_indexer

    with DataDirLock(settings.data_dir):
        indexer = build_indexer(settings.data_dir, settings.chroma_host, settings.chroma_port)
        report = indexer.run(settings.corpus_dir)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        print(
            f"indexed {report.files} files: {report.paragraphs} paragraphs in {report.chunks} chunks "
            f"(+{report.added} -{report.removed} ={report.unchanged} ~{report.updated}), "
            f"embedded {report.embedded} chunks in {report.seconds:.1f}s; data in {settings.data_dir}"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Subcommands and flags, as CONTRACT.md lists them."""
    parser = argparse.ArgumentParser(prog="isnad", description="Cited answers from an Arabic news archive.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="index the corpus (incremental)")
    index.add_argument("--corpus", type=Path, help="corpus folder (default $ISNAD_CORPUS_DIR or seeds/)")
    index.add_argument("--data-dir", type=Path, help="data folder (default $ISNAD_DATA_DIR or ./data)")
    index.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    index.set_defaults(handler=cmd_index)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    _quiet_libraries()
    try:
        settings = Settings.from_env()
        if getattr(args, "data_dir", None):
            settings = replace(settings, data_dir=args.data_dir)
        if getattr(args, "corpus", None):
            settings = replace(settings, corpus_dir=args.corpus)
        return int(args.handler(args, settings))
    except IsnadError as exc:
        print(f"isnad: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("isnad: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
