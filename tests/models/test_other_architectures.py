"""Any Hugging Face causal LM works, not only XGLM: Llama-style (RoPE), BLOOM (ALiBi, no position ids)
and GPT-2/mGPT (learned positions), each saved with a tokenizer and loaded through `from_pretrained`."""

import pytest
import torch

from xlpt.config import load_config
from xlpt.models.build import build_task_model, load_task_model
from xlpt.models.loading import load_causal_lm
from xlpt.tasks.collate import pad_right


@pytest.mark.parametrize("method", ["prompt_tuning", "full_finetune"])
def test_classifier_is_padding_invariant_and_trains(other_model_dir, method):
    cfg = load_config(None, [f"model.name={other_model_dir}", f"method.name={method}"])
    model, tokenizer = load_task_model(cfg, device="cpu")
    model.eval()
    assert model.backbone.embed_multiplier == 1.0  # none of these scales embeddings
    texts = ["The cat sleeps on the chair. Answer:", "Yes. Answer:"]
    ids, mask = pad_right([tokenizer(t).input_ids for t in texts], tokenizer.pad_token_id)
    batched = model(ids, mask, mask.sum(1) - 1)
    short = torch.tensor([tokenizer(texts[1]).input_ids])
    alone = model(short, torch.ones_like(short), torch.tensor([short.shape[1] - 1]))
    assert torch.allclose(batched[1], alone[0], atol=1e-5)
    model.train()
    torch.nn.functional.cross_entropy(model(ids, mask, mask.sum(1) - 1), torch.tensor([0, 2])).backward()
    trained = [name for name, p in model.named_parameters() if p.grad is not None]
    if method == "prompt_tuning":
        assert trained == ["prompt.weight"]
    else:  # every block's weights receive gradients
        assert sum("layer" in name or ".h." in name for name in trained) >= 2 * 4
