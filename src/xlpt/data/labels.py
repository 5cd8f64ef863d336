"""Label normalisation: every classification label in every file format becomes a task label *name*.

Files disagree on spelling: XTREME XNLI uses names, XNLI-1.0 writes `contradictory` (an alias in the task's
data section), HF exports use
int ids in ClassLabel order (XNLI 0/1/2 = entailment/neutral/contradiction; PAWS-X 0/1 =
not_paraphrase/paraphrase). Anything else is an error, never a guess.
"""

from __future__ import annotations

from xlpt.tasks.spec import TaskSpec


def normalise_label(task: TaskSpec, raw: object) -> str:
    """The label name for `raw` (a name, an alias, an int id or its string form). Raises ValueError."""
    if isinstance(raw, bool):  # bool is an int subclass; True/False is never a valid label here
        raise ValueError(f"unknown label {raw!r}")
    if isinstance(raw, int):
        # labels that are numbers (XStoryCloze's endings "1", "2") are names first, never shifted indices
        return str(raw) if str(raw) in task.labels else _by_index(task, raw)
    if isinstance(raw, str):
        text = raw.strip()
        if text in task.labels:
            return text
        alias = task.data.label_aliases.get(text.lower())  # spellings of other releases (task data)
        if alias is not None:
            return alias
        if text.lstrip("-").isdigit():
            return _by_index(task, int(text))
    raise ValueError(f"unknown label {raw!r} (valid: {', '.join(task.labels)} or 0..{task.num_labels - 1})")


def _by_index(task: TaskSpec, index: int) -> str:
    if 0 <= index < task.num_labels:
        return task.labels[index]
    raise ValueError(f"unknown label id {index} (valid: 0..{task.num_labels - 1} = {', '.join(task.labels)})")
