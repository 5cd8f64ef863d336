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
- Parallel tasks (the task's `data.parallel`): another language's rows that translate a training row are
  never scored (counted as `excluded_parallel`); rows that translate a selection row are scored and
  counted (`parallel_to_selection`). Without the declaration this is not checked, and results say so
  (data/parallel.py).
- Methods that train nothing (zero-shot) read every split in full.
Caps (`max_train_examples`, `max_dev_examples`, an evaluation limit) draw a seeded sample of the part
(`data.sample_seed`), stratified by label for classification, whole sentences for tagging (data/sampling.py):
never the first N rows, since files can be sorted by label.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from xlpt.data.parallel import row_keys, screen
from xlpt.data.sampling import Sample, draw
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
    """Seed of the held-back part (train.seed)."""
    sample_seed: int = 0
    """Seed of the cap's sample (data.sample_seed)."""
    prefix: bool = False
    """Legacy caps: the first `cap` rows of the part, as xlpt did before caps were samples. Only to reconstruct
    what an older run read (data.plan.LEGACY_CAPS_NOTE); never used to train."""

    def part_rows(self, n: int) -> list[int]:
        """Row indices of the part, in file order (before the cap)."""
        if self.part == "all":
            return list(range(n))
        held = heldout_order(n, self.fraction, self.seed)
        return [i for i in range(n) if (i in held) == (self.part == "heldout-part")]

    def sample(self, examples: list) -> Sample:
        """The rows read from a split of `examples`: the part, then the cap's seeded sample (`strata`)."""
        rows = self.part_rows(len(examples))
        if self.prefix:
            return Sample(rows[: self.cap] if self.cap else rows, len(rows), self.sample_seed, False)
        return draw(rows, self.cap, self.sample_seed, strata(examples))

    def count(self, n: int) -> int:
        """How many rows are read from an n-row split (what the estimator needs; no labels required)."""
        rows = len(self.part_rows(n))
        return min(rows, self.cap) if self.cap else rows

    def describe(self) -> str:
        part = {"all": "", "train-part": f" minus a held-back {self.fraction:.0%}",
                "heldout-part": f", held-back {self.fraction:.0%} (seed {self.seed})"}[self.part]
        if not self.cap:
            cap = ""
        elif self.prefix:
            cap = f", the first {self.cap} (legacy caps)"
        else:
            cap = f", at most {self.cap} (a seeded sample, seed {self.sample_seed})"
        return f"{self.split}{part}{cap}"


@dataclass
class TrainingPlan:
    lang: str
    train: Use
    selection: Use
    notes: list[str] = field(default_factory=list)

    def uses(self, split: str) -> list[Use]:
        return [use for use in (self.train, self.selection) if use.split == split]


LEGACY_CAPS_NOTE = ("NOTE: this run was trained by an older xlpt, whose caps (data.max_train_examples, "
                    "data.max_dev_examples) kept the first N rows, not a sample: evaluation reconstructs those rows "
                    "to leave them out (results: legacy_caps)")


def plan_training(cfg, available: set[str], legacy_caps: bool = False) -> TrainingPlan:
    """The training and selection rows of a run; `available` = the source language's labeled splits.
    `legacy_caps`: reconstruct a run of an older xlpt whose caps were prefixes (see `Use.prefix`)."""
    data, lang = cfg.data, cfg.data.train_lang
    fraction, seed = data.heldout_fraction, cfg.train.seed

    def use(split: str, part: Part, cap: int | None) -> Use:
        return Use(split, part, cap, fraction, seed, data.sample_seed, legacy_caps)

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
        plan = TrainingPlan(lang, use(split, "all", data.max_train_examples), use("dev", "all", data.max_dev_examples),
                            notes)
    else:
        plan = TrainingPlan(lang, use(split, "train-part", data.max_train_examples),
                            use(split, "heldout-part", data.max_dev_examples), notes)
        notes.append(f"NOTE: checkpoints are selected on a held-back {fraction:.0%} of {lang} {split} (seed {seed}), "
                     "which training never reads")
    return plan


def strata(examples) -> list | None:
    """Each row's stratum (its label) for a stratified cap, or None when no row has one (a tagging split: sampled
    by sentence; see the examples' `stratum`)."""
    labels = [example.stratum for example in examples]
    return labels if any(label is not None for label in labels) else None


@dataclass(frozen=True)
class RowsRead:
    """What training and checkpoint selection read from the source language: row indices and example ids."""

    lang: str
    train: Sample
    train_split: str
    train_ids: frozenset[str]
    selection: Sample
    selection_split: str
    selection_ids: frozenset[str]

    def indices(self, purpose: str, split: str) -> set[int]:
        """Rows of `split` that training ("train") or selection ("selection") read."""
        sample, used_split = (self.train, self.train_split) if purpose == "train" else (self.selection,
                                                                                         self.selection_split)
        return set(sample.indices) if used_split == split else set()

    def keys(self, purpose: str, split: str, by: str) -> set:
        """The parallel keys (data/parallel.py) of what `purpose` read: row indices of the same split (`row`),
        or example ids from any split (`id`)."""
        if by == "row":
            return self.indices(purpose, split)
        return set(self.train_ids if purpose == "train" else self.selection_ids)


def rows_read(plan: TrainingPlan, loaded: dict[str, list]) -> RowsRead:
    """The rows the plan reads, given the source language's examples per split (`loaded[split]`)."""
    train_rows, sel_rows = loaded[plan.train.split], loaded[plan.selection.split]
    train, selection = plan.train.sample(train_rows), plan.selection.sample(sel_rows)
    return RowsRead(plan.lang, train, plan.train.split, frozenset(train_rows[i].id for i in train.indices),
                    selection, plan.selection.split, frozenset(sel_rows[i].id for i in selection.indices))


@dataclass(frozen=True)
class EvalRows:
    indices: list[int] | None
    """Row indices to score (file order), or None when the language cannot be evaluated on this split."""
    label: str
    """What results.json calls the split: test, dev, dev-unused, dev-heldout."""
    note: str | None = None
    available: int = 0
    """Rows that could be scored before the evaluation cap."""
    excluded_parallel: int = 0
    """Rows left out because they translate a training row (parallel tasks)."""
    parallel_to_selection: int = 0
    """Scored rows (after the cap) that translate a checkpoint-selection row."""
    sample: Sample | None = None
    """The evaluation cap's draw, when it kept fewer rows than available."""


def evaluation_rows(examples: list, lang: str, split: str, read: RowsRead | None, limit: int | None,
                    sample_seed: int = 0, parallel: str | None = None) -> EvalRows:
    """The rows of `lang`'s `split` that evaluation may score, following the module's rules. `read`: what the
    run's training read (None for methods that train nothing); `parallel`: the task's data.parallel."""
    rows, label, note = _scoreable(len(examples), lang, split, read)
    if rows is None:
        return EvalRows(None, split, note)
    excluded, to_selection = 0, set()
    if read is not None and lang != read.lang and parallel is not None:
        rows, excluded, to_selection = screen(row_keys(examples, parallel), rows, read.keys("train", split, parallel),
                                              read.keys("selection", split, parallel))
        if not rows:
            return EvalRows(None, split, f"{lang} {split}: every row translates a row training read "
                                         f"({excluded} rows, task data.parallel={parallel})")
        if excluded:
            note = (f"{lang} {split}: {excluded} rows left out because they translate rows training read "
                    f"(data.parallel={parallel}); scored on the other {len(rows)}")
    sample = draw(rows, limit, sample_seed, strata(examples))
    return EvalRows(sample.indices, label, note, len(rows), excluded, len(to_selection.intersection(sample.indices)),
                    sample if len(sample.indices) < len(rows) else None)


def _scoreable(n: int, lang: str, split: str, read: RowsRead | None) -> tuple[list[int] | None, str, str | None]:
    """(rows, split label, note) of `lang`'s split before parallel screening and caps: the source language
    loses the rows its training and selection read."""
    if read is None or lang != read.lang:
        return list(range(n)), split, None
    trained, selected = read.indices("train", split), read.indices("selection", split)
    if not trained and not selected:
        return list(range(n)), split, None
    unused = [i for i in range(n) if i not in trained and i not in selected]
    if unused:
        return unused, f"{split}-unused", (f"{lang} {split}: scored on the {len(unused)} of {n} rows that training and "
                                           "checkpoint selection did not read")
    only_selected = [i for i in sorted(selected) if i not in trained]
    if only_selected:
        return only_selected, f"{split}-heldout", (
            f"{lang} {split}: every row was read by training or selection; scored on the {len(only_selected)} "
            "held-back rows that selected the checkpoint (optimistic: selection saw them)")
    return None, split, f"{lang} {split}: every row was used for training"


def evaluation_count(n: int, lang: str, split: str, training: TrainingPlan | None, limit: int | None) -> int:
    """How many rows of an n-row split evaluation scores (for the estimator: no labels needed, parallel
    screening not counted)."""
    uses = training.uses(split) if training is not None and lang == training.lang else []
    rows = n - sum(use.count(n) for use in uses)  # the train and held-back parts never overlap
    if uses and rows <= 0:  # only the held-back selection rows are left, if any
        rows = training.selection.count(n) if training.selection.split == split else 0
    return min(rows, limit) if limit else rows


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
