"""The audit of granted awards against the rules: input, checks, findings, reports (docs/audit.md)."""
