"""Per-language, per-split statistics of a data folder (`xlpt data stats`), with its data contract.

A language whose files break the contract is listed as unusable with the reason; a split whose file
cannot be read is listed with its error; neither hides the other languages' numbers.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from xlpt.progress import progress_bar

from xlpt.data.contract import summary_lines
from xlpt.data.files import SPLITS
from xlpt.data.layout import resolve
from xlpt.data.loading import LoadedSplit, load_split
from xlpt.errors import ConfigError, DataFormatError
from xlpt.tasks import TaskSpec


def split_stats(spec: TaskSpec, loaded: LoadedSplit, root: Path | None = None) -> dict:
    """Examples, words, label distribution and quirk counts of one loaded split (JSON-ready).

    `words` counts words in the family's word unit (whitespace words of every text field for text
    families, the dataset's own words for tagging). `labels` is the distribution of labels over examples,
    or of tags over words where an example's label is a tag sequence; empty when unlabeled.
    """
    family = spec.family_record
    words = sum(len(words) for ex in loaded.examples for words in family.word_lists(ex))
    labels: Counter = Counter()
    for example in loaded.examples:
        if example.label is not None:
            labels.update(example.label if isinstance(example.label, tuple) else (example.label,))
    return {
        "examples": len(loaded.examples),
        "words": words,
        "labeled": loaded.labeled,
        "labels": dict(sorted(labels.items())),
        "reconstructed": loaded.counts.get("reconstructed", 0),
        "duplicates": loaded.counts.get("duplicates", 0),
        # every repair a reader counts: IOB tags (`repaired`), XCOPA's questions (`question_repaired`), ...
        "repaired": sum(n for key, n in loaded.counts.items() if key == "repaired" or key.endswith("_repaired")),
        "counts": dict(sorted(loaded.counts.items())),
        "files": [_relative(path, root) for path in loaded.files],
        "notes": list(loaded.notes),
    }


def task_stats(
    spec: TaskSpec,
    data_dir: Path | str,
    *,
    langs: list[str] | None = None,
    repair_iob: bool = False,
    progress: bool | None = None,
) -> dict:
    """`{"task": T, "languages": {lang: {split: split_stats}}, "unusable": {lang: why},
    "errors": {lang: {split: error}}, "data": contract, "ok": bool}` for what is found under `data_dir`.

    `ok` is False when any file breaks the contract or cannot be read. `progress=None` shows a tqdm bar
    on stderr only when it is a terminal.
    """
    resolved = resolve(spec, data_dir)
    sources, contract = resolved.sources, resolved.contract
    blocked = contract.blocked()
    present = sorted(set(sources) | set(blocked))
    if langs:
        unknown = sorted(set(langs) - set(present))
        if unknown:
            raise ConfigError(f"no {spec.name} data for {', '.join(unknown)}; languages present: {', '.join(present)}")
    selected = langs or present
    work = [(lang, split) for lang in selected if lang in sources for split in SPLITS if split in sources[lang]]
    result: dict = {"task": spec.name, "languages": {}, "unusable": {lang: blocked[lang] for lang in selected
                                                                    if lang in blocked}, "errors": {}}
    for lang, split in progress_bar(work, desc=f"{spec.name} stats", unit="split", disable=_disabled(progress)):
        try:
            loaded = load_split(spec, lang, split, sources[lang][split], repair_iob=repair_iob)
        except DataFormatError as err:
            where = contract.relative(err.path) + (f":{err.line}" if err.line is not None else "")
            result["errors"].setdefault(lang, {})[split] = f"{where}: {err.problem}"
            continue
        result["languages"].setdefault(lang, {})[split] = split_stats(spec, loaded, Path(data_dir))
    result["data"] = contract.to_json()
    result["ok"] = contract.ok and not result["errors"]
    return result


def format_table(stats: dict) -> str:
    """A readable, aligned table of `task_stats` output: one row per (language, split)."""
    header = ("lang", "split", "examples", "words", "labeled", "recon", "dups", "repaired", "labels", "files")
    rows = [header]
    for lang, splits in stats["languages"].items():
        for split, entry in splits.items():
            rows.append((
                lang, split, str(entry["examples"]), str(entry["words"]), "yes" if entry["labeled"] else "no",
                str(entry["reconstructed"]), str(entry["duplicates"]), str(entry["repaired"]),
                _label_summary(entry["labels"]), " + ".join(Path(f).name for f in entry["files"]),
            ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    numeric = {2, 3, 5, 6, 7}
    lines = [
        "  ".join(cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines += [f"error: {lang} {split}: {error}" for lang, splits in stats["errors"].items()
              for split, error in splits.items()]
    return "\n".join([f"task: {stats['task']}"] + lines + [""] + summary_lines(stats["data"], stats["task"]))


def _label_summary(labels: dict[str, int], top: int = 8) -> str:
    """All labels for small label sets; the `top` most frequent (with the number of distinct ones) for tag sets."""
    if not labels:
        return "-"
    ranked = sorted(labels.items(), key=lambda item: (-item[1], item[0]))
    shown = ranked if len(ranked) <= top else ranked[:top]
    text = " ".join(f"{name}={count}" for name, count in shown)
    return text if len(ranked) <= top else f"{text} ... ({len(ranked)} labels)"


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def _disabled(progress: bool | None) -> bool | None:
    """tqdm's `disable`: None lets tqdm hide the bar when stderr is not a terminal."""
    return None if progress is None else not progress
