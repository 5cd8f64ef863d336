"""Loading from the Hugging Face hub, with the row conversion kept separate so it can be tested offline.

Datasets and their schemas (ClassLabel names are read from the dataset's features, not assumed):
- XNLI   `facebook/xnli`, config `<lang>`: premise, hypothesis, label ClassLabel[entailment, neutral, contradiction]
- PAWS-X `google-research-datasets/paws-x`, config `<lang>`: id, sentence1, sentence2, label ClassLabel["0", "1"]
  (-1 marks a missing label in the hub copy: kept as label None and counted as `missing_labels`)
- UDPOS  `google/xtreme`, config `udpos.<English name>`: tokens, pos_tags Sequence(ClassLabel[17 UPOS])
- PAN-X  `google/xtreme`, config `PAN-X.<lang>` (XTREME's 40 languages), else `unimelb-nlp/wikiann`,
  config `<lang>`: tokens, ner_tags Sequence(ClassLabel[O, B-PER, I-PER, B-ORG, I-ORG, B-LOC, I-LOC]), langs
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from xlpt.data.examples import PairExample, TaggedSentence
from xlpt.data.labels import normalise_label
from xlpt.errors import ConfigError, DataFormatError
from xlpt.tasks import TaskSpec, get_task

HUB_SPLITS = {"train": "train", "dev": "validation", "test": "test"}
XNLI_REPO = "facebook/xnli"
PAWSX_REPO = "google-research-datasets/paws-x"
XTREME_REPO = "google/xtreme"
WIKIANN_REPO = "unimelb-nlp/wikiann"

XTREME_UDPOS_NAMES = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "de": "German", "el": "Greek", "en": "English",
    "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French",
    "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "kk": "Kazakh", "ko": "Korean", "mr": "Marathi", "nl": "Dutch", "pt": "Portuguese", "ru": "Russian",
    "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "ur": "Urdu",
    "vi": "Vietnamese", "yo": "Yoruba", "zh": "Chinese",
}
XTREME_PANX_LANGS = frozenset(
    "af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru sw ta te th "
    "tl tr ur vi yo zh".split()
)
# (text_a column, text_b column) per pair task; tag column per tagging task.
PAIR_COLUMNS = {"xnli": ("premise", "hypothesis"), "pawsx": ("sentence1", "sentence2")}
TAG_COLUMNS = {"udpos": "pos_tags", "panx": "ner_tags"}


@dataclass(frozen=True)
class HubLocation:
    repo: str
    config: str
    split: str

    def __str__(self) -> str:
        return f"hf:{self.repo}/{self.config}[{self.split}]"


def hub_location(task: str, lang: str, split: str, repo: str | None = None) -> HubLocation:
    """Which hub dataset, config and split hold (task, lang, split). Raises ConfigError for unknown ones."""
    spec = get_task(task)
    if split not in HUB_SPLITS:
        raise ConfigError(f"unknown split {split!r}; valid splits: {', '.join(HUB_SPLITS)}")
    if lang not in spec.languages:
        raise ConfigError(f"unknown language {lang!r} for {spec.name}; valid: {', '.join(spec.languages)}")
    hub_split = HUB_SPLITS[split]
    if spec.name == "xnli":
        return HubLocation(repo or XNLI_REPO, lang, hub_split)
    if spec.name == "pawsx":
        return HubLocation(repo or PAWSX_REPO, lang, hub_split)
    if spec.name == "udpos":
        if lang not in XTREME_UDPOS_NAMES:
            raise ConfigError(
                f"{XTREME_REPO} has no udpos config for {lang!r}; available: {', '.join(sorted(XTREME_UDPOS_NAMES))}"
            )
        return HubLocation(repo or XTREME_REPO, f"udpos.{XTREME_UDPOS_NAMES[lang]}", hub_split)
    repo = repo or (XTREME_REPO if lang in XTREME_PANX_LANGS else WIKIANN_REPO)
    return HubLocation(repo, f"PAN-X.{lang}" if repo == XTREME_REPO else lang, hub_split)


def load_hub_split(task: str, lang: str, split: str, *, repo: str | None = None, limit: int | None = None):
    """Download (or read from the HF cache) one split and convert it. Returns a LoadedSplit."""
    from xlpt.data.loading import LoadedSplit

    location = hub_location(task, lang, split, repo)
    try:
        import datasets
    except ImportError as err:  # pragma: no cover - datasets is a declared dependency
        raise ConfigError("source 'hf' needs the Hugging Face `datasets` package") from err
    try:
        dataset = datasets.load_dataset(location.repo, location.config, split=location.split)
    except Exception as err:  # network, auth, unknown config: all mean "cannot get it", say so plainly
        raise ConfigError(f"could not load {location} from the Hugging Face hub: {err}") from err
    if limit is not None:
        dataset = dataset.select(range(min(limit, len(dataset))))
    examples = rows_to_examples(task, lang, split, dataset, where=str(location))
    missing = sum(_is_unlabeled(example) for example in examples)
    notes = [f"read {location}"]
    if missing:
        notes.append(f"{missing} rows have no label on the hub (-1); kept with label None")
    return LoadedSplit(
        get_task(task).name, lang, split, examples, [], missing < len(examples), {"missing_labels": missing}, notes
    )


def rows_to_examples(task: str, lang: str, split: str, dataset: Iterable[dict], *, where: str | None = None) -> list:
    """Convert hub rows (a `datasets.Dataset` or any iterable of dicts with its schema) to examples.

    Integer labels are mapped through the dataset's own ClassLabel names when it has features, else
    through the task's label order. Raises DataFormatError naming the row for a missing column, an
    unknown label, or a token/tag count mismatch.
    """
    spec = get_task(task)
    where = where or f"hf:{spec.name}/{lang}[{split}]"
    if spec.family != "tagging":
        names = _class_names(dataset, "label")
        return [_pair_row(spec, lang, row, names, where, n) for n, row in enumerate(dataset, start=1)]
    column = TAG_COLUMNS[spec.name]
    names = _class_names(dataset, column)
    return [_tagged_row(spec, lang, row, column, names, where, n) for n, row in enumerate(dataset, start=1)]


def _pair_row(spec: TaskSpec, lang: str, row: dict, names, where: str, n: int) -> PairExample:
    first, second = PAIR_COLUMNS[spec.name]
    _require(row, (first, second, "label"), where, n)
    label = _label_name(spec, row["label"], names, where, n)
    example_id = str(row["id"]) if row.get("id") is not None else f"{where}:{n}"
    return PairExample(row[first], row[second], label, lang, example_id)


def _tagged_row(spec: TaskSpec, lang: str, row: dict, column: str, names, where: str, n: int) -> TaggedSentence:
    _require(row, ("tokens", column), where, n)
    words, raw_tags = list(row["tokens"]), list(row[column])
    if len(words) != len(raw_tags):
        raise DataFormatError(where, n, f"{len(words)} tokens but {len(raw_tags)} tags")
    if not words:
        raise DataFormatError(where, n, "empty sentence")
    tags = tuple(_tag_name(spec, tag, names, where, n) for tag in raw_tags)
    return TaggedSentence(tuple(words), tags, lang, f"{where}:{n}")


def _label_name(spec: TaskSpec, raw, names, where: str, n: int) -> str | None:
    if raw is None or raw == -1:
        return None  # the hub's marker for a missing label
    if names and isinstance(raw, int):
        if not 0 <= raw < len(names):
            raise DataFormatError(where, n, f"label id {raw} outside the ClassLabel names {names}")
        raw = names[raw]
    try:
        return normalise_label(spec, raw)
    except ValueError as err:
        raise DataFormatError(where, n, str(err)) from None


def _tag_name(spec: TaskSpec, raw, names, where: str, n: int) -> str:
    name = names[raw] if names and isinstance(raw, int) and 0 <= raw < len(names) else raw
    if isinstance(name, int) and not names and 0 <= name < spec.num_labels:
        name = spec.labels[name]
    if name not in spec.labels:
        raise DataFormatError(where, n, f"unknown tag {raw!r} for {spec.name} (valid: {', '.join(spec.labels)})")
    return name


def _class_names(dataset, column: str) -> list[str] | None:
    """ClassLabel names of `column` (directly or inside a Sequence/List), or None without features."""
    features = getattr(dataset, "features", None)
    if not features or column not in features:
        return None
    feature = features[column]
    inner = feature[0] if isinstance(feature, list) else getattr(feature, "feature", feature)
    return list(inner.names) if hasattr(inner, "names") else None


def _require(row: dict, columns, where: str, n: int) -> None:
    missing = [column for column in columns if column not in row]
    if missing:
        raise DataFormatError(where, n, f"missing column(s) {', '.join(missing)} (has {', '.join(row)})")


def _is_unlabeled(example) -> bool:
    return (example.label if isinstance(example, PairExample) else example.tags) is None
