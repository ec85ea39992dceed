"""`python -m bench.perf.heartbeat_bot LAGFILE`: `isnad bot` with a heartbeat on its event loop.

The bot is wired as `isnad bot` wires it (settings from the environment, `open_engine`,
`build_application`, `serve`); alongside it a task sleeps 10 ms at a time and records how
late it wakes, as (monotonic time, lag) pairs written to LAGFILE as JSON on SIGTERM. Run in
its own process (by bench/perf/load.py), the bot's event loop competes for the GIL only with
its own threads, as in production, not with the fake Bot API's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from pathlib import Path

from bot.qa.conversation import ConversationMemory
from bot.qa.engine import Engine
from bot.telegram.app import build_application, serve
from isnad.cli import open_engine
from isnad.settings import Settings
from isnad.wiring import bot_config, index_job

PERIOD = 0.010


async def heartbeat(lags: list[tuple[float, float]]) -> None:
    """Sleep PERIOD again and again; record how late each wake-up is."""
    while True:
        asleep = time.monotonic()
        await asyncio.sleep(PERIOD)
        woke = time.monotonic()
        lags.append((woke, woke - asleep - PERIOD))


def main(lag_file: Path) -> int:
    """Serve until SIGTERM, then write the heartbeat's record."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = Settings.from_env()

    def engine_factory(memory: ConversationMemory) -> Engine:
        return open_engine(settings, memory)

    config = bot_config(settings)
    application = build_application(config, engine_factory, index_job(settings))
    lags: list[tuple[float, float]] = []

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        beat = asyncio.create_task(heartbeat(lags))
        try:
            await serve(application, config, stop)
        finally:
            beat.cancel()

    asyncio.run(run())
    lag_file.write_text(json.dumps(lags))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
