"""SDPA attention (models/attention.py) computes what transformers' eager XGLM attention computes."""

import pytest
import torch

from xlpt.config import load_config
from xlpt.models.attention import attention_in_use, use_attention
from xlpt.models.build import load_task_model
from xlpt.models.loading import load_causal_lm
from xlpt.tasks.collate import pad_right
from xlpt.training.memory import saved_for_backward_bytes

TEXTS = ["The cat sleeps on the warm chair near the window. Answer:", "Yes. Answer:", "A dog walks home."]


def _batch(tokenizer):
    ids, mask = pad_right([tokenizer(t).input_ids for t in TEXTS], tokenizer.pad_token_id)
    return ids, mask


def test_sdpa_matches_eager_on_a_padded_batch_and_switches_back_exactly(tiny_model_dir):
    lm, tokenizer = load_causal_lm(tiny_model_dir, device="cpu")
    lm.eval()
    ids, mask = _batch(tokenizer)
    with torch.no_grad():
        eager = lm(input_ids=ids, attention_mask=mask).logits
        assert use_attention(lm, "sdpa") == "sdpa" and attention_in_use(lm) == "sdpa"
        sdpa = lm(input_ids=ids, attention_mask=mask).logits
        assert use_attention(lm, "eager") == "eager"
        again = lm(input_ids=ids, attention_mask=mask).logits
    real = mask.bool()
    assert torch.allclose(sdpa[real], eager[real], atol=1e-5)
    assert not torch.equal(sdpa, eager)  # a different kernel really ran (rounding differs)
    assert torch.equal(again, eager)


@pytest.mark.parametrize("method", ["prompt_tuning", "prefix_tuning", "lora"])
def test_sdpa_gives_the_eager_loss_and_gradients(tiny_model_dir, method):
    """Training through the patched kernel: same loss and same gradients of what trains, including with
    prefix tuning's cache in front and PEFT's LoRA layers inside the attention modules."""
    results = {}
    for kind in ("eager", "sdpa"):
        prompt = [] if method == "lora" else ["method.prompt_length=3"]
        cfg = load_config(None, [f"model.name={tiny_model_dir}", f"method.name={method}", f"model.attention={kind}",
                                 *prompt])
        torch.manual_seed(0)
        model, tokenizer = load_task_model(cfg, device="cpu")
        if method == "lora":  # B starts at zero; give the adapters a real effect
            with torch.no_grad():
                for name, param in model.named_parameters():
                    if "lora_B" in name:
                        param.normal_(0, 0.1)
        assert attention_in_use(model.backbone.lm) == kind
        model.train()
        ids, mask = _batch(tokenizer)
        loss = torch.nn.functional.cross_entropy(model(ids, mask, mask.sum(1) - 1), torch.tensor([0, 1, 2]))
        loss.backward()
        results[kind] = (loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    (loss_e, grads_e), (loss_s, grads_s) = results["eager"], results["sdpa"]
    assert torch.allclose(loss_s, loss_e, atol=1e-6)
    assert grads_e.keys() == grads_s.keys() and grads_e
    for name in grads_e:
        assert torch.allclose(grads_s[name], grads_e[name], atol=1e-5, rtol=1e-4), name


def _saved_bytes(lm, ids, mask) -> int:
    """Bytes autograd keeps for the backward pass of one forward."""
    return saved_for_backward_bytes(lambda: lm.model(input_ids=ids, attention_mask=mask).last_hidden_state.sum())


def test_sdpa_keeps_no_attention_weights_for_backward(tiny_model_dir):
    """The point of the kernel for training: eager keeps B x H x S x S weights per layer; SDPA does not."""
    lm, _ = load_causal_lm(tiny_model_dir, device="cpu")
    lm.train()
    batch, length = 4, 200
    ids = torch.randint(4, lm.config.vocab_size, (batch, length))
    mask = torch.ones_like(ids)
    eager = _saved_bytes(lm, ids, mask)
    use_attention(lm, "sdpa")
    sdpa = _saved_bytes(lm, ids, mask)
    weights = lm.config.num_layers * batch * lm.config.attention_heads * length * length * 4
    assert eager - sdpa >= weights  # at least the softmax weights of every layer are gone


def test_config_default_is_sdpa_and_eager_can_be_chosen(tiny_model_dir):
    for override, expected in (([], "sdpa"), (["model.attention=eager"], "eager")):
        cfg = load_config(None, [f"model.name={tiny_model_dir}", "method.name=full_finetune", *override])
        model, _ = load_task_model(cfg, device="cpu")
        assert attention_in_use(model.backbone.lm) == expected


def test_other_architectures_report_the_kernel_they_really_run(other_model_dir):
    lm, tokenizer = load_causal_lm(other_model_dir, device="cpu")
    lm.eval()
    ids, mask = _batch(tokenizer)
    with torch.no_grad():
        use_attention(lm, "eager")
        eager = lm(input_ids=ids, attention_mask=mask).logits
        kind = use_attention(lm, "sdpa")
        sdpa = lm(input_ids=ids, attention_mask=mask).logits
    assert kind == lm.config._attn_implementation == attention_in_use(lm)
    assert kind in ("sdpa", "eager")
    assert torch.allclose(sdpa[mask.bool()], eager[mask.bool()], atol=1e-5)


def test_unknown_kernel_is_one_config_error_naming_the_key():
    from xlpt.errors import ConfigError

    with pytest.raises(ConfigError, match="model.attention"):
        load_config(None, ["model.attention=flash"])


def test_compiled_decoder_computes_the_same_states(tiny_model_dir):
    """model.compile wraps the decoder in torch.compile. Traced here with dynamo's `eager` backend (graph
    capture and guards without code generation, to stay fast); lengths change without recompiling."""
    import torch._dynamo
    from torch._dynamo.utils import counters

    cfg = load_config(None, [f"model.name={tiny_model_dir}", "method.name=full_finetune"])
    model, tokenizer = load_task_model(cfg, device="cpu")
    model.eval()
    ids, mask = _batch(tokenizer)
    longer, longer_mask = pad_right([tokenizer(t + " and more words").input_ids for t in TEXTS], tokenizer.pad_token_id)
    with torch.no_grad():
        reference = [model.plain_hidden(ids, mask), model.plain_hidden(longer, longer_mask)]
        torch._dynamo.reset()
        counters.clear()
        model.backbone.compile_decoder(backend="eager")
        compiled = [model.plain_hidden(ids, mask)]
        graphs = counters["stats"]["unique_graphs"]
        compiled.append(model.plain_hidden(longer, longer_mask))
    assert graphs >= 1 and counters["stats"]["unique_graphs"] == graphs  # the new length reused the graph
    torch._dynamo.reset()
    for ours, ref in zip(compiled, reference):
        assert torch.allclose(ours, ref, atol=1e-6)
    assert model.backbone.decoder._compiled_call_impl is not None
