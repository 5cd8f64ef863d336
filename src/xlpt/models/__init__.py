"""Model side: loading any HF causal LM, building the tiny test model, task heads."""
