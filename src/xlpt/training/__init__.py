"""Training: one explicit loop shared by every method, batching, checkpoints, run orchestration."""
