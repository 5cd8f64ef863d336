"""BitFit is the README's example of adding a method: the README's block is this method's module word for word,
and the method it describes trains (only biases move) and exports with a message that says what trained."""

from __future__ import annotations

import re
from pathlib import Path

from safetensors.torch import load_file

from xlpt.cli import main
from xlpt.methods import METHODS
from xlpt.methods import bitfit

ROOT = Path(__file__).resolve().parents[2]


def readme_module_block() -> tuple[str, str]:
    """(path named on the block's first line, the rest) of the README's python block that is a module file."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("**A method: one module and one line.**", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    first, _, rest = block.partition("\n")
    return first.removeprefix("# ").strip(), rest


def test_the_readme_block_is_the_bitfit_module_word_for_word():
    path, code = readme_module_block()
    assert path == "src/xlpt/methods/bitfit.py"
    assert code == (ROOT / path).read_text(encoding="utf-8")
    assert METHODS["bitfit"] is bitfit.METHOD  # the README's one line: `bitfit.METHOD,` in the registry


def test_bitfit_trains_only_biases_and_export_says_what_trained(tmp_path, tiny_model_dir, data_dir, capsys):
    run = tmp_path / "run"
    assert main(["train", "--task", "pawsx", "--method", "bitfit", "--model", str(tiny_model_dir), "--data-dir",
                 str(data_dir), "--out", str(run), "--quiet", "model.device=cpu", "data.max_train_examples=16",
                 "data.max_dev_examples=8", "data.max_eval_examples=8", "data.eval_languages=en,de",
                 "train.max_steps=2", "train.eval_every=2", "train.batch_size=8"]) == 0
    saved = load_file(str(run / "checkpoint" / "best.safetensors"))
    assert saved and all(name.endswith(".bias") for name in saved), sorted(saved)[:5]
    capsys.readouterr()
    assert main(["export", "--run", str(run), "--out", str(tmp_path / "exported")]) != 0
    message = capsys.readouterr().err
    assert bitfit.METHOD.trained_parts in message and "task head" not in message.replace("(+ the task head", ""), message
