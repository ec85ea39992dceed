"""The terminal front ends: the REPL and the text rendering of answers shared with `isnad ask`."""
