"""Text embeddings must be exactly what the model's own forward computes (XGLM's embed_scale)."""

import torch

from xlpt.models.backbone import Backbone
from xlpt.models.loading import load_causal_lm


def test_embed_reproduces_forward_from_input_ids(tiny_model_dir):
    lm, tokenizer = load_causal_lm(tiny_model_dir, device="cpu")
    lm.eval()
    backbone = Backbone(lm)
    ids = torch.tensor([tokenizer("The cat sleeps on the chair.").input_ids])
    mask = torch.ones_like(ids)
    reference = lm.base_model(input_ids=ids, attention_mask=mask).last_hidden_state
    ours = backbone.hidden_states(backbone.embed(ids), mask)
    assert torch.equal(ours, reference)


def test_embeddings_are_in_the_scaled_space(tiny_model_dir):
    """The tiny model uses scale_embedding=True: embeddings must carry sqrt(d_model), not be raw weight rows."""
    lm, _ = load_causal_lm(tiny_model_dir, device="cpu")
    backbone = Backbone(lm)
    assert lm.config.scale_embedding
    ids = torch.tensor([[5, 6, 7]])
    raw = lm.get_input_embeddings().weight[ids]
    scale = lm.config.d_model ** 0.5
    assert torch.allclose(backbone.embed(ids), raw * scale)
    assert not torch.allclose(backbone.embed(ids), raw)


def test_verbalizer_rows_equal_full_vocabulary_logits(tiny_model_dir):
    """Scoring only label-word rows must give the same numbers as the LM head's full logits."""
    from xlpt.models.heads import VerbalizerHead

    lm, tokenizer = load_causal_lm(tiny_model_dir, device="cpu")
    lm.eval()
    backbone = Backbone(lm)
    ids = torch.tensor([tokenizer("Is it true? Answer:").input_ids])
    label_ids = [10, 20, 30]
    hidden = backbone.hidden_states(backbone.embed(ids), torch.ones_like(ids))[:, -1]
    full = lm(input_ids=ids).logits[:, -1, label_ids]
    assert torch.allclose(VerbalizerHead(backbone, label_ids)(hidden), full, atol=1e-5)
