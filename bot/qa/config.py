"""What `engine.build` needs to wire an engine, in one value the edge fills from its settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class EngineConfig:
    """Where the index is and which answerer to use; secrets stay out of repr."""

    data_dir: Path
    llm: str = "extractive"  # or "openai": any OpenAI-compatible chat endpoint
    openai_base_url: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)
    llm_model: str | None = None
    chroma_host: str | None = None  # a Chroma server instead of the store in data_dir
    chroma_port: int | None = None
    chroma_token: str | None = field(default=None, repr=False)
