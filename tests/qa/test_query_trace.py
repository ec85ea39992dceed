"""Answering keeps no per-question state in llama-index's CallbackManager (the trace-map leak)."""

from __future__ import annotations

from pathlib import Path

from bot.qa.engine import build


def test_the_trace_map_does_not_grow_with_questions(seeds_data: Path) -> None:
    engine = build(seeds_data)
    manager = engine.retriever.embedder.callback_manager

    def recorded() -> int:
        return sum(len(events) for events in manager.trace_map.values())

    for i in range(5):
        engine.ask(f"كم شاحنة جاهزة للذهاب إلى دوما؟ {i}")
    after_five = recorded()
    for i in range(60):
        engine.ask(f"من اقترح القرار 2401؟ {i}", conversation="c")
    # One question's events at most (the last trace), not one id per question asked.
    assert recorded() == after_five <= 2
