"""The evaluation engine: validation, the durable_rules wrapper, relation resolution, decisions (docs/engine.md)."""
