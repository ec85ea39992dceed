"""The quality evaluation: XQuAD-ar as a corpus, retrieval and answer quality, the second stage's fit."""
