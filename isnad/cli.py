"""The `isnad` command line: errors become one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from indexing.errors import ConfigError, IsnadError
from indexing.private import private_dir
from indexing.untrusted import is_utf8, printable
from isnad.batch import BatchItem, read_batch
from isnad.logs import use_format
from isnad.settings import DEFAULT_CORPUS_DIR, DEFAULT_DATA_DIR, Settings

if TYPE_CHECKING:
    from bot.qa.conversation import ConversationMemory
    from bot.qa.engine import Engine

log = logging.getLogger("isnad")


def _quiet_libraries() -> None:
    # Chroma's telemetry and httpx's request lines (which carry the bot token) stay silent.
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    for name in ("httpx", "chromadb", "chromadb.telemetry", "bm25s"):
        logging.getLogger(name).setLevel(logging.WARNING)


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """Run the indexing job and print its summary."""
    from isnad.jobs import run_index

    report = run_index(settings, ray=args.ray)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        print(
            f"indexed {report.files} files: {report.paragraphs} paragraphs in {report.chunks} chunks "
            f"(+{report.added} -{report.removed} ={report.unchanged} ~{report.updated}), "
            f"embedded {report.embedded} chunks in {report.seconds:.1f}s; data in {settings.data_dir}"
            + (
                f"; {report.feeds} feeds: {report.new_from_feeds} new articles in {report.fetched} requests"
                if report.feeds
                else ""
            )
        )
    return 0


def open_engine(settings: Settings, memory: ConversationMemory | None = None) -> Engine:
    """The engine over the data dir, indexing the corpus first when there is no index yet."""
    from bot.qa.engine import build
    from indexing.store.chroma import ParagraphStore, chroma_client
    from isnad.jobs import run_index
    from isnad.wiring import engine_config

    store = ParagraphStore(
        chroma_client(settings.data_dir, settings.chroma_host, settings.chroma_port, settings.chroma_token)
    )
    if store.count() == 0:
        print(
            f"isnad: no index in {settings.data_dir}; indexing {settings.corpus_dir} first", file=sys.stderr
        )
        report = run_index(settings, progress=True)
        print(f"isnad: indexed {report.paragraphs} paragraphs in {report.seconds:.1f}s", file=sys.stderr)
    return build(
        engine_config(settings),
        memory=memory,
        embedder=settings.embedder_factory(query=True)(),
    )


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question, or a JSON Lines batch."""
    from bot.terminal.render import render_answer, render_asked, render_unread

    if args.batch is None and not (args.question or "").strip():
        raise ConfigError("give a QUESTION or --batch FILE (use - for standard input)")
    if args.batch is not None and args.question is not None:
        raise ConfigError("give a QUESTION or --batch FILE, not both")  # else the QUESTION was dropped
    if args.question is not None and not is_utf8(args.question):
        # Bytes that are not UTF-8 reach argv as lone surrogates, which no output can carry.
        raise ConfigError("QUESTION is not UTF-8 text")
    if args.batch is not None:
        requests = list(read_batch(args.batch))
    else:
        requests = [BatchItem(None, args.question, None)]
    engine = open_engine(settings)
    transcript = args.batch is not None and not args.json  # each answer under its question
    for number, item in enumerate(requests):
        if transcript and number:
            print()  # a blank line between answers
        if item.error:
            if transcript:
                print(render_unread(item.error, item.qid), flush=True)
            else:
                print(json.dumps({"id": item.qid, "error": item.error}, ensure_ascii=False), flush=True)
            continue
        answer = engine.ask(item.question, item.conversation)
        if args.json:
            print(json.dumps(answer.as_dict(item.qid), ensure_ascii=False), flush=True)
        elif transcript:
            print(render_asked(item.question, item.qid), render_answer(answer), sep="\n", flush=True)
        else:
            print(render_answer(answer), flush=True)
    return 0


def cmd_repl(args: argparse.Namespace, settings: Settings) -> int:
    """Interactive loop for trying questions."""
    from bot.terminal.repl import Repl

    Repl(open_engine(settings), settings.data_dir).run()
    return 0


def cmd_bot(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the Telegram bot: long polling, or a webhook when ISNAD_WEBHOOK_URL is set."""
    from bot.telegram.app import build_application, run
    from isnad.wiring import bot_config, index_job

    def engine_factory(memory: ConversationMemory) -> Engine:
        # open_engine indexes an empty data dir first; the memory is the bot's state store's,
        # so conversations survive restarts and reach every replica.
        return open_engine(settings, memory)

    config = bot_config(settings)
    run(build_application(config, engine_factory, index_job(settings)), config)
    return 0


DOCS = (
    "The interface is documented in the isnad source tree: docs/cli.md (commands and flags), "
    "docs/answer-json.md (the answer JSON of ask --json) and docs/environment.md (the variables, "
    "also read from .env in the working directory)."
)


def _data_dir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=f"data folder: the index and the bot's state (default $ISNAD_DATA_DIR, else {DEFAULT_DATA_DIR})",
    )


def build_parser() -> argparse.ArgumentParser:
    """Subcommands and flags, as docs/cli.md lists them."""
    parser = argparse.ArgumentParser(
        prog="isnad", description="Cited answers from an Arabic news archive.", epilog=DOCS
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="index the corpus (incremental)", epilog=DOCS)
    index.add_argument(
        "--corpus", type=Path, help=f"corpus folder (default $ISNAD_CORPUS_DIR, else {DEFAULT_CORPUS_DIR})"
    )
    _data_dir_flag(index)
    index.add_argument(
        "--feed",
        action="append",
        metavar="URL",
        help="also index the articles of this RSS/Atom feed (repeatable; added to $ISNAD_FEEDS)",
    )
    index.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    index.add_argument(
        "--ray",
        metavar="ADDRESS",
        help='embed on a Ray cluster (an address, or "local" for a local instance; needs isnad[ray])',
    )
    index.set_defaults(handler=cmd_index)

    ask = sub.add_parser("ask", help="answer a question (or a JSON Lines batch) from the index", epilog=DOCS)
    ask.add_argument("question", nargs="?", help="the question, in Arabic")
    _data_dir_flag(ask)
    ask.add_argument("--json", action="store_true", help="print the answer JSON (docs/answer-json.md)")
    ask.add_argument("--batch", metavar="FILE", help="JSON Lines questions from FILE, or - for stdin")
    ask.set_defaults(handler=cmd_ask)

    repl = sub.add_parser(
        "repl", help="ask questions interactively (/sources /reset /debug /quit)", epilog=DOCS
    )
    _data_dir_flag(repl)
    repl.set_defaults(handler=cmd_repl)

    bot = sub.add_parser(
        "bot", help="serve the Telegram bot (TELEGRAM_BOT_TOKEN; polling or webhook)", epilog=DOCS
    )
    _data_dir_flag(bot)
    bot.set_defaults(handler=cmd_bot)
    return parser


def _make_data_dir(data_dir: Path, writes: bool = True) -> None:
    # Made here, at the edge, so it is 0700 whichever library would otherwise create it first
    # (Chroma, the lock, the bot's state): it will hold users' questions.
    try:
        private_dir(data_dir)
    except OSError as exc:
        raise ConfigError(f"cannot create the data dir {data_dir} ({exc.strerror or exc})") from None
    # Said here, before the lock or Chroma fail on it with a traceback or a "damaged index".
    if not data_dir.is_dir():
        raise ConfigError(f"the data dir {data_dir} is not a folder")
    if writes and not os.access(data_dir, os.W_OK | os.X_OK):
        raise ConfigError(f"the data dir {data_dir} is not writable")


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
        use_format(settings.log_format)
        if getattr(args, "data_dir", None):
            settings = replace(settings, data_dir=args.data_dir)
        if getattr(args, "corpus", None):
            settings = replace(settings, corpus_dir=args.corpus)
        if getattr(args, "feed", None):
            bad = [f for f in args.feed if not f.lower().startswith(("http://", "https://"))]
            if bad:
                raise ConfigError(f"--feed takes an http(s) URL, not {bad[0][:60]!r}")
            settings = replace(settings, feeds=tuple(dict.fromkeys([*settings.feeds, *args.feed])))
        # Only asking over a Chroma server may work from a read-only data dir.
        _make_data_dir(settings.data_dir, writes=args.command in ("index", "bot") or not settings.chroma_host)
        return int(args.handler(args, settings))
    except IsnadError as exc:
        # One line whatever the message holds (a path from the command line, a server's reply).
        print(f"isnad: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("isnad: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Whoever read our output has gone (`isnad ask --batch … | head`): stop quietly, as cat
        # does, with a SIGPIPE exit status. stdout goes to /dev/null first, or Python's flush
        # at exit would hit the closed pipe again and print a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
