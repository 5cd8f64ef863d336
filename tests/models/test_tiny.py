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
    assert set(builtin_tasks()) == {"panx", "pawsx", "sib200", "udpos", "xnli"}
    user_task(EXTRA)
    assert "extratask" in all_tasks() and "extratask" not in builtin_tasks()
    assert template_lines() == before  # with every registered task, the zebra/quokka lines changed the corpus
    assert not any("zebra" in line for line in template_lines())
