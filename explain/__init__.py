"""Explanations: why, what if, how to qualify, readings, runners-up, the trace, the self-check (docs/explain.md)."""
