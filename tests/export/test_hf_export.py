"""`xlpt export`: a fully fine-tuned run becomes a Hugging Face folder that computes what the run's model does.

(A run trained sharded over two processes is exported in tests/training/test_distributed.py.)
"""

from __future__ import annotations

import pytest
import torch

from xlpt.config import load_config
from xlpt.errors import ConfigError
from xlpt.export.hf_export import HEAD_FILE, export_run
from xlpt.training.run import train_run


def trained(tmp_path, tiny_model_dir, data_dir, method: str, *extra: str):
    cfg = load_config(None, [f"model.name={tiny_model_dir}", "model.device=cpu", f"data.data_dir={data_dir}",
                             "data.task=pawsx", f"method.name={method}", "data.max_train_examples=16",
                             "data.max_dev_examples=8", "train.max_steps=2", "train.batch_size=8",
                             "train.learning_rate=1e-2", *extra])
    run = tmp_path / method
    train_run(cfg, run, progress=False, echo=False)
    return cfg, run


def test_exported_folder_computes_what_the_trained_model_computes(tmp_path, tiny_model_dir, data_dir):
    from transformers import AutoModelForCausalLM

    from xlpt.evaluation.evaluate import load_trained_model
    from xlpt.models.origin import read_origin
    from xlpt.run_dir import RunDir
    from xlpt.tasks import get_task

    cfg, run = trained(tmp_path, tiny_model_dir, data_dir, "full_finetune", "head.formulation=linear_head")
    out = export_run(run, tmp_path / "hf")
    exported = AutoModelForCausalLM.from_pretrained(out).eval()
    model, tokenizer = load_trained_model(RunDir(run), cfg, get_task("pawsx"))
    ids = torch.tensor([tokenizer("the cat and the house")["input_ids"]])
    with torch.no_grad():
        torch.testing.assert_close(exported(input_ids=ids).logits, model.backbone.lm.eval()(input_ids=ids).logits)
        base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()(input_ids=ids).logits
    assert not torch.allclose(base, exported(input_ids=ids).logits)  # it is the trained model, not the base
    assert (out / HEAD_FILE).exists()  # the linear head is not part of a causal LM
    assert read_origin(out)["pipeline_check"] is True  # built from a random model: still marked as one
    import json

    manifest = json.loads((out / "xlpt_export.json").read_text())  # the run, its state and step, the notice
    assert manifest["pipeline_check"] is True and manifest["notices"][0].startswith("PIPELINE CHECK")
    assert manifest["run"]["state"] == "done" and manifest["run"]["checkpoint_step"] == RunDir(run).checkpoint_step()
    assert not list(tmp_path.glob(".hf.partial-*"))


def test_export_refuses_what_it_cannot_do(tmp_path, tiny_model_dir, data_dir):
    _, run = trained(tmp_path, tiny_model_dir, data_dir, "prompt_tuning")
    with pytest.raises(ConfigError, match="does not train the model's own weights"):
        export_run(run, tmp_path / "hf")
    _, ft = trained(tmp_path, tiny_model_dir, data_dir, "full_finetune")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ConfigError, match="already exists and is not empty"):
        export_run(ft, tmp_path / "full")
