"""Which base model a checkpoint was trained on: a few embedding values at fixed positions, with the shapes.

Shapes alone cannot tell two models of one architecture apart (a rebuilt tiny model, another checkpoint
of the same size), and those are exactly the dangerous cases: the weights load without complaint. Training
records `base_identity` in best.safetensors (checkpoints.identity_metadata); export, predict and
`method.init_from` compare it with the model they load.
"""

from __future__ import annotations

from pathlib import Path

from xlpt.errors import ConfigError

FINGERPRINT_POINTS = 16
RELATIVE_TOLERANCE = 2e-2
"""bfloat16 keeps ~3 significant digits: the same base loaded in another dtype stays within this."""


def base_identity(lm, name: str) -> dict:
    """{name_or_path, model_type, hidden_size, vocab_size, embedding_fingerprint} of a loaded causal LM."""
    weight = lm.get_input_embeddings().weight
    vocab, hidden = weight.shape
    return {"name_or_path": str(name), "model_type": getattr(lm.config, "model_type", None), "hidden_size": int(hidden),
            "vocab_size": int(vocab), "embedding_fingerprint": fingerprint(weight)}


def fingerprint(weight) -> list[float]:
    """Values of the embedding at fixed, spread-out positions (rows across the vocabulary, varied columns)."""
    vocab, hidden = weight.shape
    points = [((k * 7919 + 1) % vocab, (k * 31) % hidden) for k in range(FINGERPRINT_POINTS)]
    values = weight.detach()[[r for r, _ in points], [c for _, c in points]].float().cpu().tolist()
    return [float(f"{value:.6g}") for value in values]


def identity_difference(recorded: dict, current: dict) -> str | None:
    """What differs between a recorded base identity and the current one; None when they are the same model."""
    for key in ("model_type", "hidden_size", "vocab_size"):
        if recorded.get(key) != current.get(key):
            return f"{key} {recorded.get(key)!r} there, {current.get(key)!r} here"
    theirs, ours = recorded.get("embedding_fingerprint"), current.get("embedding_fingerprint")
    if not isinstance(theirs, list) or len(theirs) != len(ours):
        return "the recorded embedding fingerprint is unreadable"
    if any(not isinstance(a, (int, float)) or abs(a - b) > RELATIVE_TOLERANCE * max(abs(a), abs(b)) + 1e-6
           for a, b in zip(theirs, ours)):
        return "same shapes, but different embedding weights"
    return None


def check_trained_base(checkpoint: Path, lm, model_name: str) -> None:
    """Refuse to use a checkpoint with a base model other than the one it was trained on, where training
    recorded that one (checkpoints.BASE_IDENTITY; a model folder rebuilt or replaced since, a wrong --model)."""
    import json

    from xlpt.checkpoints import BASE_IDENTITY
    from xlpt.run_dir import safetensors_metadata

    text = safetensors_metadata(checkpoint).get(BASE_IDENTITY)
    try:
        recorded = json.loads(text) if text else None
    except ValueError:
        recorded = None
    if not isinstance(recorded, dict):
        return  # trained before the identity was recorded: nothing to compare
    difference = identity_difference(recorded, base_identity(lm, model_name))
    if difference:
        raise ConfigError(f"{checkpoint} was trained on the base model {recorded.get('name_or_path')}; {model_name} is "
                          f"another model ({difference}): was the folder rebuilt or replaced? Pass --model with the "
                          "base the run was trained on")
