"""The QA core: hybrid retrieval, cited answers (extractive or LLM), conversations."""
