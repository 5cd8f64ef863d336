"""`method.init_from=FOLDER`: an export starts a new run exactly where the old one ended; a misfit is one line."""

import json
import shutil

import pytest
import torch

from xlpt.config import load_config
from xlpt.errors import ConfigError
from xlpt.export.peft_import import start_from_adapter
from xlpt.models.build import load_task_model
from xlpt.tasks import get_task
from xlpt.tasks.collate import pad_right

PROMPT_START = ("prompt_tuning", "method.prompt_position=start", "method.prompt_length=6")
PROMPT_AFTER_BOS = ("prompt_tuning", "method.prompt_length=6")
PREFIX = ("prefix_tuning", "method.prompt_length=5")
LORA_HEAD = ("lora", "method.lora_r=4", "head.formulation=linear_head", "train.learning_rate=0.01")


def fresh_model(run_cfg, folder, **changes):
    """A new task model for the run's settings (its own initialisation) with init_from=folder and `changes`."""
    cfg = run_cfg.model_copy(deep=True)
    cfg.method.init_from = str(folder)
    for key, value in changes.items():  # head settings have their own section
        setattr(cfg.head if key in ("formulation", "word_repr") else cfg.method, key, value)
    model, tokenizer = load_task_model(cfg, device="cpu")
    return model.eval(), tokenizer, cfg


def scores(model, tokenizer):
    ids, mask = pad_right([tokenizer("The cat sleeps. Answer:").input_ids,
                           tokenizer("A man walks his dog in the park near the river. Answer:").input_ids],
                          tokenizer.pad_token_id)
    with torch.no_grad():
        return model(ids, mask, mask.sum(1) - 1)


@pytest.mark.parametrize("settings,convert", [(PROMPT_START, False), (PROMPT_AFTER_BOS, True), (PREFIX, False),
                                              (LORA_HEAD, False)], ids=["prompt_start", "prompt_after_bos", "prefix",
                                                                        "lora_head"])
def test_an_export_round_trips_to_the_trained_model(settings, convert, trained, exported, run_model):
    run = trained(*settings)
    folder, _ = exported(run, start_tokens_in_prompt=convert)
    original, tokenizer, cfg, task = run_model(run)
    model, _, new_cfg = fresh_model(cfg, folder)
    assert not torch.allclose(scores(model, tokenizer), scores(original, tokenizer), atol=1e-4)  # before: its own init
    imported = start_from_adapter(model, new_cfg, task, tokenizer)
    assert torch.allclose(scores(model, tokenizer), scores(original, tokenizer), atol=1e-6)
    trained_state = {n: p for n, p in original.named_parameters() if p.requires_grad}
    for name, param in model.named_parameters():
        if param.requires_grad:
            assert torch.equal(param, trained_state[name]), name
    assert imported.head == ("loaded" if settings is LORA_HEAD else "none")
    assert set(imported.files) == {"adapter_model.safetensors"} | ({"xlpt_head.safetensors"} if imported.head == "loaded"
                                                                    else set())


def test_training_from_an_export_logs_it_and_starts_there(trained, exported, tiny_model_dir, data_dir, tmp_path):
    """Through `xlpt train`: with a vanishing learning rate the best checkpoint is the imported prompt itself."""
    from xlpt import provenance
    from xlpt.checkpoints import load_weights
    from xlpt.cli import main
    from safetensors.torch import load_file

    folder, _ = exported(trained(*PROMPT_START))
    out = tmp_path / "continued"
    assert main(["train", "--task", "pawsx", "--method", "prompt_tuning", "--model", str(tiny_model_dir), "--data-dir",
                 str(data_dir), "--out", str(out), "--quiet", "model.device=cpu", "method.prompt_position=start",
                 "method.prompt_length=6", f"method.init_from={folder}", "data.max_train_examples=16",
                 "data.max_dev_examples=8", "train.max_steps=1", "train.learning_rate=1e-12"]) == 0
    summary = json.loads((out / "train_summary.json").read_text())
    digest = provenance.sha256_file(folder / "adapter_model.safetensors")
    assert summary["init_from"] == {"folder": str(folder.resolve()), "peft_type": "PROMPT_TUNING",
                                    "sha256": {"adapter_model.safetensors": digest}, "head": "none"}
    assert f"PROMPT_TUNING adapter in {folder.resolve()}" in (out / "run.log").read_text()
    best = load_weights(out / "checkpoint" / "best.safetensors")["prompt.weight"]
    assert torch.allclose(best, load_file(str(folder / "adapter_model.safetensors"))["prompt_embeddings"], atol=1e-6)
    assert "init_from" in (out / "config.yaml").read_text()


def test_init_from_is_left_out_of_the_config_when_empty(tiny_model_dir):
    """Runs made before the setting existed keep their config (and so their run id)."""
    from xlpt.config import config_from_dict

    for method in ("prompt_tuning", "prefix_tuning", "lora"):
        cfg = load_config(None, [f"method.name={method}", f"model.name={tiny_model_dir}"])
        tree = cfg.to_dict()
        assert "init_from" not in tree["method"]
        assert config_from_dict(tree).to_dict() == tree
        cfg.method.init_from = "adapters/x"
        assert cfg.to_dict()["method"]["init_from"] == "adapters/x"


# ------------------------------------------------------------------------------------------- misfits


def test_misfits_are_one_line_naming_the_setting(trained, exported, run_model):
    original, tokenizer, cfg, task = run_model(trained(*PROMPT_START))
    folder, _ = exported(trained(*PROMPT_START))
    model, _, new_cfg = fresh_model(cfg, folder, prompt_length=4)
    with pytest.raises(ConfigError, match=r"holds 6 prompt vectors; set method.prompt_length=6"):
        start_from_adapter(model, new_cfg, task, tokenizer)
    # a LoRA adapter is not a prompt
    lora_folder, _ = exported(trained(*LORA_HEAD))
    model, _, new_cfg = fresh_model(cfg, lora_folder)
    with pytest.raises(ConfigError, match="the adapter is LORA; method prompt_tuning starts from a PROMPT_TUNING"):
        start_from_adapter(model, new_cfg, task, tokenizer)


def test_lora_rank_and_targets_must_match(trained, exported, run_model):
    _, tokenizer, cfg, task = run_model(trained(*LORA_HEAD))
    folder, _ = exported(trained(*LORA_HEAD))
    model, _, new_cfg = fresh_model(cfg, folder, lora_r=8)
    with pytest.raises(ConfigError, match="r=4; set method.lora_r=4"):
        start_from_adapter(model, new_cfg, task, tokenizer)
    model, _, new_cfg = fresh_model(cfg, folder, lora_targets="q_proj,v_proj")
    with pytest.raises(ConfigError, match="set method.lora_targets=fc1,fc2,k_proj,out_proj,q_proj,v_proj"):
        start_from_adapter(model, new_cfg, task, tokenizer)


def test_a_peft_prompt_is_refused_by_an_after_bos_run_and_accepted_at_start(trained, run_model, tiny_model_dir,
                                                                           tmp_path):
    """An adapter PEFT trained itself sits before every token; an after_bos run would read it elsewhere."""
    from peft import PromptTuningConfig, get_peft_model

    from xlpt.models.loading import load_causal_lm

    lm, _ = load_causal_lm(tiny_model_dir, device="cpu")
    peft = get_peft_model(lm, PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=6, num_attention_heads=4))
    peft.save_pretrained(str(tmp_path / "peft-prompt"))
    vectors = peft.prompt_encoder["default"].embedding.weight.detach().clone()
    _, tokenizer, cfg, task = run_model(trained(*PROMPT_AFTER_BOS))
    model, _, new_cfg = fresh_model(cfg, tmp_path / "peft-prompt")
    with pytest.raises(ConfigError, match="set method.prompt_position=start"):
        start_from_adapter(model, new_cfg, task, tokenizer)
    model, _, new_cfg = fresh_model(cfg, tmp_path / "peft-prompt", prompt_position="start")
    assert start_from_adapter(model, new_cfg, task, tokenizer).head == "none"
    assert torch.equal(model.prompt.weight, vectors)


def test_a_converted_start_token_that_was_changed_is_refused(trained, exported, run_model, tmp_path):
    from safetensors.torch import load_file, save_file

    folder, _ = exported(trained(*PROMPT_AFTER_BOS), start_tokens_in_prompt=True)
    changed = tmp_path / "changed"
    shutil.copytree(folder, changed)
    weights = load_file(str(changed / "adapter_model.safetensors"))
    weights["prompt_embeddings"][0] += 0.1  # as if the virtual </s> had been trained further in PEFT
    save_file(weights, str(changed / "adapter_model.safetensors"))
    _, tokenizer, cfg, task = run_model(trained(*PROMPT_AFTER_BOS))
    model, _, new_cfg = fresh_model(cfg, changed)
    with pytest.raises(ConfigError, match="are not this model's start-token embeddings"):
        start_from_adapter(model, new_cfg, task, tokenizer)


def test_a_head_only_fits_its_own_labels(trained, exported, run_model):
    """A pawsx head (2 rows: not_paraphrase, paraphrase) must not start an xnli head (3 labels)."""
    folder, _ = exported(trained(*LORA_HEAD))
    xnli = trained("lora", "method.lora_r=4", "head.formulation=linear_head", "train.learning_rate=0.01", task="xnli")
    _, tokenizer, cfg, task = run_model(xnli)
    model, _, new_cfg = fresh_model(cfg, folder)
    with pytest.raises(ConfigError, match="a head only fits the label set it was trained on"):
        start_from_adapter(model, new_cfg, get_task("xnli"), tokenizer)
    # and a verbalizer run has no head to load it into
    _, tokenizer, cfg, task = run_model(trained(*LORA_HEAD))
    model, _, new_cfg = fresh_model(cfg, folder, formulation="verbalizer")
    with pytest.raises(ConfigError, match="no trainable head"):
        start_from_adapter(model, new_cfg, task, tokenizer)


def test_broken_folders_are_one_line(trained, exported, run_model, tmp_path):
    _, tokenizer, cfg, task = run_model(trained(*PREFIX))
    folder, _ = exported(trained(*PREFIX))
    cases = {"missing": (tmp_path / "nowhere", "no such folder")}
    empty = tmp_path / "empty"
    empty.mkdir()
    cases["empty"] = (empty, "no adapter_config.json")
    no_weights = tmp_path / "no-weights"
    shutil.copytree(folder, no_weights)
    (no_weights / "adapter_model.safetensors").unlink()
    cases["no weights"] = (no_weights, "no adapter weights")
    garbled = tmp_path / "garbled"
    shutil.copytree(folder, garbled)
    (garbled / "adapter_config.json").write_text("{not json")
    cases["garbled"] = (garbled, "adapter_config.json cannot be read")
    damaged = tmp_path / "damaged"
    shutil.copytree(folder, damaged)
    (damaged / "adapter_model.safetensors").write_bytes(b"\x00garbage")
    cases["damaged"] = (damaged, "adapter_model.safetensors is damaged")
    manifest = tmp_path / "manifest"
    shutil.copytree(folder, manifest)
    (manifest / "xlpt_export.json").write_text('{"format": "xlpt-peft-export", "version": 99}')
    cases["manifest"] = (manifest, "version 99")
    a_file = tmp_path / "adapter.safetensors"
    a_file.write_bytes(b"x")
    cases["a file"] = (a_file, "is a file; give the adapter's folder")
    run_dir = trained(*PREFIX)
    cases["a run"] = (run_dir, f"is an xlpt run directory, not an adapter: export it first (xlpt export --run {run_dir}")
    hf_folder = tmp_path / "hf"
    hf_folder.mkdir()
    (hf_folder / "config.json").write_text("{}")
    cases["a model"] = (hf_folder, "is a model folder, not a PEFT adapter (use it as model.name")
    for name, (path, message) in cases.items():
        model, _, new_cfg = fresh_model(cfg, path)
        with pytest.raises(ConfigError) as err:
            start_from_adapter(model, new_cfg, task, tokenizer)
        assert message in str(err.value) and "method.init_from" in str(err.value) and "\n" not in str(err.value), name


def test_a_tagging_head_round_trips_and_reads_the_same_subwords(trained, exported, run_model):
    run = trained("prompt_tuning", "method.prompt_position=start", "method.prompt_length=4", "head.word_repr=mean",
                  task="udpos")
    folder, manifest = exported(run)
    assert manifest["head"]["reads"] == "each word's mean subword (head.word_repr)"
    assert manifest["head"]["shapes"]["head.weight"] == [len(get_task("udpos").labels), 64]
    original, tokenizer, cfg, task = run_model(run)
    ids = torch.tensor([tokenizer("Der Hund läuft schnell").input_ids])
    starts, ends = torch.tensor([[1, 2, 3]]), torch.tensor([[2, 3, 5]])
    model, _, new_cfg = fresh_model(cfg, folder)
    assert start_from_adapter(model, new_cfg, task, tokenizer).head == "loaded"
    with torch.no_grad():
        assert torch.equal(model(ids, torch.ones_like(ids), starts, ends), original(ids, torch.ones_like(ids), starts, ends))
    model, _, new_cfg = fresh_model(cfg, folder, word_repr="last")
    with pytest.raises(ConfigError, match="trained on each word's mean subword"):
        start_from_adapter(model, new_cfg, task, tokenizer)


# ------------------------------------------------------------------------------------------- base model


@pytest.fixture(scope="module")
def other_base(tmp_path_factory):
    """A tiny XGLM of exactly the same shapes and tokenizer as the test's base, built with another seed."""
    from xlpt.models.tiny import TinyModelSpec, build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("other-tiny"), spec=TinyModelSpec(seed=1))


def on_base(cfg, folder, base):
    changed = cfg.model_copy(deep=True)
    changed.method.init_from = str(folder)
    changed.model.name = str(base)
    model, tokenizer = load_task_model(changed, device="cpu")
    return model, tokenizer, changed


def test_an_adapter_of_another_base_model_is_refused_even_when_the_shapes_fit(trained, exported, run_model,
                                                                            other_base):
    _, _, cfg, task = run_model(trained(*PROMPT_START))
    folder, manifest = exported(trained(*PROMPT_START))
    assert manifest["base_model_identity"]["model_type"] == "xglm"
    model, tokenizer, new_cfg = on_base(cfg, folder, other_base)
    with pytest.raises(ConfigError, match=r"the adapter was trained on another base model \(.*same shapes, but "
                                          r"different embedding weights\); this run's model is .*other-tiny"):
        start_from_adapter(model, new_cfg, task, tokenizer)


def test_the_same_base_in_another_folder_is_accepted(trained, exported, run_model, tiny_model_dir, tmp_path):
    _, _, cfg, task = run_model(trained(*PROMPT_START))
    folder, _ = exported(trained(*PROMPT_START))
    moved = shutil.copytree(tiny_model_dir, tmp_path / "moved")
    model, tokenizer, new_cfg = on_base(cfg, folder, moved)
    assert start_from_adapter(model, new_cfg, task, tokenizer).warning is None


def test_an_adapter_without_a_recorded_base_is_a_warning(trained, exported, run_model, other_base, tmp_path):
    _, _, cfg, task = run_model(trained(*PROMPT_START))
    folder, _ = exported(trained(*PROMPT_START))
    old = shutil.copytree(folder, tmp_path / "old")
    manifest = json.loads((old / "xlpt_export.json").read_text())
    del manifest["base_model_identity"]  # as an export of an older xlpt wrote it
    (old / "xlpt_export.json").write_text(json.dumps(manifest))
    model, tokenizer, new_cfg = on_base(cfg, old, other_base)
    imported = start_from_adapter(model, new_cfg, task, tokenizer)
    assert imported.describe().startswith(f"WARNING: method.init_from={old.resolve()} records no base-model identity")
    assert "warning" in imported.summary()


def test_an_adapter_of_another_task_is_said(trained, exported, run_model):
    """Starting a task from a prompt trained on another one is legitimate (prompt transfer), never unsaid."""
    _, _, cfg, _ = run_model(trained(*PROMPT_START))
    folder, _ = exported(trained(*PROMPT_START))
    xnli = cfg.model_copy(deep=True)
    xnli.data.task = "xnli"
    xnli.method.init_from = str(folder)
    model, tokenizer = load_task_model(xnli, device="cpu")
    imported = start_from_adapter(model, xnli, get_task("xnli"), tokenizer)
    assert "trained on task pawsx (this run: xnli)" in imported.describe()
