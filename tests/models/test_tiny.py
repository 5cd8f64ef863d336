"""`xlpt model tiny` builds the same tokenizer corpus whatever tasks the process registered before."""

from __future__ import annotations

from xlpt.models.tiny import template_lines
from xlpt.tasks.registry import all_tasks, builtin_tasks

EXTRA = """
name: extratask
family: text_classification
labels: [alpha, beta]
metric: accuracy
data:
  path: "{lang}/{split}.tsv"
  format: tsv
template: "{text} Extra question with new words?"
label_words: {alpha: " zebra", beta: " quokka"}
"""


def test_template_lines_ignore_tasks_registered_later(user_task):
    before = template_lines()
    assert {"panx", "pawsx", "sib200", "udpos", "xnli", "xcopa"} <= set(builtin_tasks())
    user_task(EXTRA)
    assert "extratask" in all_tasks() and "extratask" not in builtin_tasks()
    assert template_lines() == before  # with every registered task, the zebra/quokka lines changed the corpus
    assert not any("zebra" in line for line in template_lines())


def test_tiny_out_that_is_a_file_is_one_line(tmp_path):
    import subprocess
    import sys

    (tmp_path / "taken").write_text("x")
    done = subprocess.run([sys.executable, "-m", "xlpt", "model", "tiny", "--out", str(tmp_path / "taken")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"xlpt: error: --out {tmp_path / 'taken'} is a file; give a folder to write the model into"]


def test_tiny_writes_no_library_progress_bar_into_a_pipe(tmp_path):
    """Off a terminal xlpt shows no bars, Hugging Face's own included ("Writing model shards")."""
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key != "HF_HUB_DISABLE_PROGRESS_BARS"}
    done = subprocess.run([sys.executable, "-m", "xlpt", "model", "tiny", "--out", str(tmp_path / "m")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "\r" not in done.stdout
