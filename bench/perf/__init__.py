"""The performance tools: speed, memory and cost of isnad's processes, embedding, growth, soak."""
