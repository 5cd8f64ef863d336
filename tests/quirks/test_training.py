"""The quirk matrix, end to end: for every tiny architecture, each method trains (2 steps) and evaluates
through `xlpt train --evaluate` on a tiny user task, and each PEFT method's run exports (`xlpt export`) to
an adapter that loads back (`method.init_from`) into the very model that was trained. An architecture that
cannot take a method says so in one line (the run refuses with one `xlpt: error:` line)."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
import torch

from xlpt.models.tiny_architectures import TINY_MODEL_TYPES as ARCHITECTURES

TRAINED_METHODS = ("prompt_tuning", "prefix_tuning", "lora", "full_finetune", "zero_shot")
PEFT_METHODS = ("prompt_tuning", "prefix_tuning", "lora")
KNOWN: dict[tuple[str, str], str] = {}
"""(architecture, check) -> reason: failures whose fix belongs to another module's owner (run, expected to fail)."""


def expect_known(request, arch: str, check: str) -> None:
    if (arch, check) in KNOWN:
        request.applymarker(pytest.mark.xfail(reason=KNOWN[arch, check], strict=False))


def refusal(arch: str, method: str) -> str | None:
    """The one line an architecture's record gives for a method it cannot support (models.architectures)."""
    from xlpt.models.architectures import architecture

    record = architecture(arch)
    if method == "prefix_tuning" and not record.supports_prefix:
        return record.prefix_reason
    return None


@pytest.mark.parametrize("method", TRAINED_METHODS)
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_trains_and_evaluates(arch, method, runs, record, request):
    record(arch, method)
    expect_known(request, arch, method)
    code, out, err = runs.train(arch, method)
    refused = refusal(arch, method)
    if refused:
        lines = [line for line in err.splitlines() if line.startswith("xlpt: error:")]
        assert code == 2 and len(lines) == 1 and "Traceback" not in err and refused in lines[0], err
        return
    assert code == 0, err[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert results["task"] == "quirktopics" and results["languages"]["en"]["n"] == 6
    assert 0.0 <= results["languages"]["en"]["accuracy"] <= 1.0
    if method != "zero_shot":
        summary = json.loads((out / "train_summary.json").read_text())
        assert summary["best_step"] == 2 and (out / "checkpoint" / "best.safetensors").exists()


@pytest.mark.parametrize("method", PEFT_METHODS)
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_export_round_trip(arch, method, runs, tmp_path, record, request):
    """`xlpt export` (checked against PEFT before writing), then a new run's model started from the export
    scores exactly as the trained run's model does."""
    from xlpt.cli import main
    from xlpt.evaluation.evaluate import load_trained_model
    from xlpt.export.peft_import import start_from_adapter
    from xlpt.models.build import load_task_model
    from xlpt.run_dir import RunDir
    from xlpt.tasks import get_task

    record(arch, f"export round trip ({method})")
    expect_known(request, arch, "export")
    if refusal(arch, method):
        pytest.skip(refusal(arch, method))
    code, run, err = runs.train(arch, method)
    assert code == 0, err[-2000:]
    out = tmp_path / "adapter"
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
        code = main(["export", "--run", str(run), "--out", str(out), "--start-tokens-in-prompt", "--device", "cpu"])
    assert code == 0, errors.getvalue()[-2000:]
    manifest = json.loads((out / "xlpt_export.json").read_text())
    assert manifest["check"]["max_abs_logprob_difference"] <= 1e-4
    assert manifest["method"]["name"] == method and manifest["method"]["trains"]

    cfg = RunDir(run).read_config()
    cfg.model.device = "cpu"
    task = get_task(cfg.data.task)
    trained, tokenizer = load_trained_model(RunDir(run), cfg, task)
    again = cfg.model_copy(deep=True)
    again.method.init_from = str(out)
    fresh, _ = load_task_model(again, task, device="cpu")
    start_from_adapter(fresh, again, task, tokenizer)
    ids = torch.tensor([tokenizer("the goal was big Topic:").input_ids])
    with torch.no_grad():
        expected = trained.eval()(ids, torch.ones_like(ids), torch.tensor([ids.shape[1] - 1]))
        got = fresh.eval()(ids, torch.ones_like(ids), torch.tensor([ids.shape[1] - 1]))
    assert torch.allclose(got, expected, atol=1e-5)


def test_an_architecture_without_a_cache_refuses_prefix_tuning_in_one_line(runs, quirk_task, tiny_architecture,
                                                                          tmp_path, record):
    """Mamba keeps a recurrent state, not a key/value cache: prefix tuning says so in one line, before training."""
    from transformers import AutoTokenizer, MambaConfig, MambaForCausalLM

    from xlpt.cli import main
    from xlpt.models.architectures import architecture

    record("mamba (untested type)", "prefix_tuning")
    folder = tmp_path / "tiny-mamba"
    tokenizer = AutoTokenizer.from_pretrained(tiny_architecture("gpt2"))
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    MambaForCausalLM(MambaConfig(vocab_size=len(tokenizer), hidden_size=32, state_size=4, num_hidden_layers=1,
                                 pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                                 bos_token_id=tokenizer.bos_token_id)).save_pretrained(folder)
    tasks, data = quirk_task
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
        code = main(["train", "--task", "quirktopics", "--include-path", str(tasks), "--data-dir", str(data), "--model",
                     str(folder), "--method", "prefix_tuning", "--out", str(tmp_path / "run"), "--quiet",
                     *FAST_MAMBA])
    lines = [line for line in errors.getvalue().splitlines() if line.startswith("xlpt: error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in errors.getvalue(), errors.getvalue()[-2000:]
    assert architecture("mamba").prefix_reason in lines[0] and "use prompt_tuning or lora" in lines[0]


FAST_MAMBA = ["model.device=cpu", "train.max_steps=1", "method.prompt_length=2"]
