"""Which rows of which split each purpose reads: training, checkpoint selection, evaluation.

One place decides this for training, evaluation and the sweep estimator, so the three always agree.
Rules (XTREME's protocol, made explicit):

- Training reads the source language's `data.train_split`. If that split is missing and it was the
  default `train` (PAWS-X has no English train file here), training reads the source language's dev
  split instead, and says so.
- Checkpoint selection reads the source language's dev split. When training itself reads that dev
  split (or there is no dev split), selection reads a seeded held-back part of the training split
  (`data.heldout_fraction`, seed `train.seed`) and training the rest: selection never sees a training row.
- Evaluation reads every other language's split in full. For the source language it drops the rows
  training or selection used: the rest is labeled `<split>-unused`. If only rows that selected the
  checkpoint remain, English is scored on those, labeled `<split>-heldout`, with a note that the number
  is optimistic. If training used every row, the language cannot be evaluated on that split.
- Methods that train nothing (zero-shot) read every split in full.
Caps (`max_train_examples`, `max_dev_examples`, an evaluation limit) keep the first N rows of the part.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from xlpt.errors import ConfigError

Part = Literal["all", "train-part", "heldout-part"]


def heldout_order(n: int, fraction: float, seed: int) -> set[int]:
    """Indices of the held-back part of an n-row split: a seeded shuffle's first round(fraction * n)."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return set(order[: max(1, int(round(fraction * n)))])


@dataclass(frozen=True)
class Use:
    """The rows one purpose reads from one split of the source language."""

    split: str
    part: Part
    cap: int | None
    fraction: float
    seed: int

    def indices(self, n: int) -> list[int]:
        """Row indices in file order (the part, then the first `cap` of it)."""
        if self.part == "all":
            rows = list(range(n))
        else:
            held = heldout_order(n, self.fraction, self.seed)
            rows = [i for i in range(n) if (i in held) == (self.part == "heldout-part")]
        return rows[: self.cap] if self.cap else rows

    def describe(self) -> str:
        part = {"all": "", "train-part": f" minus a held-back {self.fraction:.0%}",
                "heldout-part": f", held-back {self.fraction:.0%} (seed {self.seed})"}[self.part]
        cap = f", first {self.cap}" if self.cap else ""
        return f"{self.split}{part}{cap}"


@dataclass
class TrainingPlan:
    lang: str
    train: Use
    selection: Use
    notes: list[str] = field(default_factory=list)

    def uses(self, split: str) -> list[Use]:
        return [use for use in (self.train, self.selection) if use.split == split]


def plan_training(cfg, available: set[str]) -> TrainingPlan:
    """The training and selection rows of a run; `available` = the source language's labeled splits."""
    data, lang = cfg.data, cfg.data.train_lang
    fraction, seed = data.heldout_fraction, cfg.train.seed
    notes = []
    if data.train_split in available:
        split = data.train_split
    elif data.train_split == "train" and "dev" in available:
        split = "dev"
        notes.append(f"NOTE: {cfg.data.task}/{lang} has no labeled train split in {data.data_dir}; training on {lang} "
                     f"dev instead")
    else:
        have = ", ".join(sorted(available)) or "none"
        raise ConfigError(f"{cfg.data.task}/{lang}: no labeled {data.train_split!r} split to train on in "
                          f"{data.data_dir} (labeled splits of {lang}: {have})")
    if split != "dev" and "dev" in available:
        plan = TrainingPlan(lang, Use(split, "all", data.max_train_examples, fraction, seed),
                            Use("dev", "all", data.max_dev_examples, fraction, seed), notes)
    else:
        plan = TrainingPlan(lang, Use(split, "train-part", data.max_train_examples, fraction, seed),
                            Use(split, "heldout-part", data.max_dev_examples, fraction, seed), notes)
        notes.append(f"NOTE: checkpoints are selected on a held-back {fraction:.0%} of {lang} {split} (seed {seed}), "
                     "which training never reads")
    return plan


@dataclass(frozen=True)
class EvalRows:
    indices: list[int] | None
    """Row indices to score (file order), or None when the language cannot be evaluated on this split."""
    label: str
    """What results.json calls the split: test, dev, dev-unused, dev-heldout."""
    note: str | None = None


def evaluation_rows(n: int, lang: str, split: str, training: TrainingPlan | None, limit: int | None) -> EvalRows:
    """The rows of `lang`'s `split` (n rows) that evaluation may score, following the module's rules."""
    uses = training.uses(split) if training is not None and lang == training.lang else []
    if not uses:
        rows = list(range(n))
        return EvalRows(rows[:limit] if limit else rows, split)
    trained = set(training.train.indices(n)) if training.train.split == split else set()
    selected = set(training.selection.indices(n)) if training.selection.split == split else set()
    unused = [i for i in range(n) if i not in trained and i not in selected]
    if unused:
        note = (f"{lang} {split}: scored on the {len(unused)} of {n} rows that training and checkpoint selection "
                "did not read")
        return EvalRows(unused[:limit] if limit else unused, f"{split}-unused", note)
    only_selected = [i for i in sorted(selected) if i not in trained]
    if only_selected:
        note = (f"{lang} {split}: every row was read by training or selection; scored on the {len(only_selected)} "
                "held-back rows that selected the checkpoint (optimistic: selection saw them)")
        return EvalRows(only_selected[:limit] if limit else only_selected, f"{split}-heldout", note)
    return EvalRows(None, split, f"{lang} {split}: every row was used for training")


def plan_languages(cfg, data, split: str, wanted: list[str] | None) -> tuple[dict[str, str], dict[str, str]]:
    """({language: split to evaluate on}, {language: why it cannot be evaluated}).

    `split` where labeled, else labeled dev. A requested language that is not there at all is an error;
    a language whose files break the data contract (data.unusable) cannot be evaluated, with the reason."""
    plan, missing = {}, {}
    for lang in data.resolve_languages(wanted):
        unusable = data.unusable(lang)
        if unusable is not None:
            missing[lang] = f"its data is unusable: {unusable}"
            continue
        labeled = data.labeled_splits(lang)
        if split in labeled:
            plan[lang] = split
        elif "dev" in labeled:
            plan[lang] = "dev"
        else:
            have = ", ".join(sorted(data.splits(lang))) or "no files"
            missing[lang] = f"no labeled {split} or dev split ({lang} has: {have}, unlabeled)"
    return plan, missing
