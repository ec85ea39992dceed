"""The index: paragraphs in Chroma (vectors, metadata) and the Arabic BM25 index beside it."""
