"""`export_run`: PEFT's own loader reproduces the trained xlpt model; what PEFT cannot hold is refused."""

import json

import pytest
import torch

from xlpt.errors import ConfigError
from xlpt.tasks.collate import pad_right

TEXTS = ("The cat sleeps on the mat. Question: A cat is sleeping? Answer:",
         "A man walks his dog in the park near the river. Question: Nobody walks? Answer:")


def batch(tokenizer, add_special_tokens=True):
    ids, mask = pad_right([tokenizer(t, add_special_tokens=add_special_tokens).input_ids for t in TEXTS],
                          tokenizer.pad_token_id)
    return ids, mask, mask.sum(1) - 1


def peft_answer_logits(peft, ids, mask, last, virtual_tokens: int) -> torch.Tensor:
    """Full-vocabulary logits at each text's last real token (after PEFT's virtual tokens, if any)."""
    with torch.no_grad():
        logits = peft(input_ids=ids, attention_mask=mask).logits
    return logits[torch.arange(len(ids)), last + virtual_tokens]


def test_prompt_tuning_start_loads_in_peft_with_the_same_class_scores(trained, exported, run_model, peft_model,
                                                                       tiny_model_dir):
    run = trained("prompt_tuning", "method.prompt_position=start", "method.prompt_length=6")
    folder, manifest = exported(run)
    model, tokenizer, _, _ = run_model(run)
    ids, mask, last = batch(tokenizer)
    with torch.no_grad():
        ours = model(ids, mask, last)
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["peft_type"] == "PROMPT_TUNING" and config["num_virtual_tokens"] == 6
    peft = peft_model(folder, tiny_model_dir)
    theirs = peft_answer_logits(peft, ids, mask, last, 6)[:, model.head.token_ids]
    assert torch.allclose(ours, theirs, atol=1e-5)
    # the prompt matters: the base model alone scores differently
    with torch.no_grad():
        plain = peft.get_base_model()(input_ids=ids, attention_mask=mask).logits[torch.arange(2), last]
    assert not torch.allclose(plain[:, model.head.token_ids], ours, atol=1e-3)
    assert manifest["input"] == {"start_tokens": "keep", "virtual_start_tokens": 0, "prompt_position": "start"}
    assert manifest["check"]["max_abs_logprob_difference"] <= 1e-4
    assert manifest["head"] is None and manifest["template"]["label_words"]  # verbalizer: label words recorded


def test_after_bos_prompt_is_refused_with_the_ways_out(trained, tmp_path):
    from xlpt.export.peft_export import export_run

    run = trained("prompt_tuning", "method.prompt_length=6")  # default placement: after XGLM's </s>
    out = tmp_path / "adapter"
    with pytest.raises(ConfigError) as err:
        export_run(run, out, device="cpu")
    message = str(err.value)
    assert "after_bos" in message and "--start-tokens-in-prompt" in message and "prompt_position=start" in message
    assert not out.exists() and not list(tmp_path.iterdir())  # nothing half-written


def test_after_bos_prompt_converts_exactly_when_text_omits_its_start_tokens(trained, exported, run_model, peft_model,
                                                                            tiny_model_dir):
    run = trained("prompt_tuning", "method.prompt_length=6")
    folder, manifest = exported(run, start_tokens_in_prompt=True)
    model, tokenizer, _, _ = run_model(run)
    assert json.loads((folder / "adapter_config.json").read_text())["num_virtual_tokens"] == 7  # </s> + 6
    assert manifest["input"] == {"start_tokens": "omit", "virtual_start_tokens": 1, "prompt_position": "after_bos"}
    ids, mask, last = batch(tokenizer)
    with torch.no_grad():
        ours = model(ids, mask, last)
    peft = peft_model(folder, tiny_model_dir)
    bare_ids, bare_mask, bare_last = batch(tokenizer, add_special_tokens=False)
    assert torch.equal(bare_ids[:, : 3], ids[:, 1:4])  # the same text, without XGLM's leading </s>
    theirs = peft_answer_logits(peft, bare_ids, bare_mask, bare_last, 7)[:, model.head.token_ids]
    assert torch.allclose(ours, theirs, atol=1e-5)
    # fed the default way (with </s>), the adapter reads </s> twice and scores differently: hence the manifest
    wrong = peft_answer_logits(peft, ids, mask, last, 7)[:, model.head.token_ids]
    assert not torch.allclose(ours, wrong, atol=1e-3)
    assert "add_special_tokens=False" in (folder / "README.md").read_text()


def test_prefix_tuning_loads_in_peft_with_the_same_class_scores(trained, exported, run_model, peft_model, tiny_model_dir):
    run = trained("prefix_tuning", "method.prompt_length=5")
    folder, manifest = exported(run)
    model, tokenizer, _, _ = run_model(run)
    assert manifest["peft_type"] == "PREFIX_TUNING"
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["prefix_projection"] is False and config["num_virtual_tokens"] == 5
    ids, mask, last = batch(tokenizer)
    with torch.no_grad():
        ours = model(ids, mask, last)
    theirs = peft_answer_logits(peft_model(folder, tiny_model_dir), ids, mask, last, 0)[:, model.head.token_ids]
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_lora_with_a_linear_head_loads_in_peft_and_the_head_file_gives_the_class_scores(
        trained, exported, run_model, peft_model, tiny_model_dir):
    from safetensors.torch import load_file

    run = trained("lora", "method.lora_r=4", "head.formulation=linear_head", "train.learning_rate=0.01")
    folder, manifest = exported(run)
    model, tokenizer, _, task = run_model(run)
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 4 and config["lora_alpha"] == 16
    assert set(config["target_modules"]) == {"q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"}
    ids, mask, last = batch(tokenizer)
    with torch.no_grad():
        ours = model(ids, mask, last)
        peft = peft_model(folder, tiny_model_dir)
        states = peft(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[-1]
        plain = peft.get_base_model()
        with peft.disable_adapter():
            base_states = plain(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[-1]
    head = load_file(str(folder / "xlpt_head.safetensors"))
    assert set(head) == {"head.weight", "head.bias"} and head["head.weight"].shape == (len(task.labels), 64)
    answer = states[torch.arange(2), last]
    assert torch.allclose(ours, answer @ head["head.weight"].T + head["head.bias"], atol=1e-5)
    # the adapter is not a no-op (B moved away from 0 in training)
    assert not torch.allclose(base_states[torch.arange(2), last], answer, atol=1e-3)
    assert manifest["head"]["shapes"] == {"head.bias": [2], "head.weight": [2, 64]}
    assert manifest["task"]["labels"] == list(task.labels) and manifest["template"] is None


def test_the_check_catches_a_prompt_in_the_wrong_embedding_space(trained, run_model, tiny_model_dir):
    """The classic conversion error: prompt vectors taken as raw embedding rows, i.e. off by XGLM's embed_scale
    (sqrt(d) = 8 here). The export's check sees it; and a layout error (positions that do not line up) too."""
    from peft import get_peft_model

    from xlpt.export.check import TOLERANCE, largest_difference, peft_logprobs, xlpt_logprobs
    from xlpt.methods.prompt_tuning.peft import PromptForm
    from xlpt.models.loading import load_causal_lm

    model, tokenizer, _, _ = run_model(trained("prompt_tuning", "method.prompt_position=start", "method.prompt_length=6"))
    ours = xlpt_logprobs(model, tokenizer)
    lm, _ = load_causal_lm(tiny_model_dir, device="cpu")
    form = PromptForm(model.prompt.weight.detach() * 8)
    peft = get_peft_model(lm, form.config(lm))
    form.write(peft)
    assert largest_difference(ours, peft_logprobs(peft, tokenizer, True)) > 100 * TOLERANCE["float32"]
    assert largest_difference(ours, peft_logprobs(peft, tokenizer, False)) == float("inf")


def test_methods_without_an_adapter_are_refused(trained, tmp_path):
    from xlpt.export.peft_export import export_run

    full = trained("full_finetune", "train.learning_rate=0.001")
    with pytest.raises(ConfigError, match="changes every weight"):
        export_run(full, tmp_path / "a")
    zero = trained("zero_shot")
    with pytest.raises(ConfigError, match="trains nothing"):
        export_run(zero, tmp_path / "b")
    head_only = trained("head_only", "head.formulation=linear_head", "train.learning_rate=0.001")
    with pytest.raises(ConfigError, match="head_only trains the task head only: PEFT has no adapter form"):
        export_run(head_only, tmp_path / "c", device="cpu")
    # the record says what trains: BitFit is biases, not "only the task head" (nothing guessed from the model)
    bitfit = trained("bitfit", "train.learning_rate=0.001")
    with pytest.raises(ConfigError, match=r"bitfit trains biases \(\+ the task head, if any\): PEFT has no adapter"):
        export_run(bitfit, tmp_path / "d", device="cpu")
    assert not list(tmp_path.iterdir())


def test_an_existing_folder_is_never_overwritten(trained, tmp_path):
    from xlpt.export.peft_export import export_run

    out = tmp_path / "adapter"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        export_run(trained("prefix_tuning", "method.prompt_length=5"), out)
    assert (out / "notes.txt").read_text() == "mine"
