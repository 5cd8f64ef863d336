"""Loading from the Hugging Face hub, with the row conversion kept separate so it can be tested offline.

Where each task is on the hub is the task's own `hub:` section (tasks/builtin/*.yaml, or a user task's):

    hub: {repo: Davlan/sib200, config: "{lang}", columns: {text: text, label: category, id: index_id}}

`config` is formatted with the language ({lang}); `columns` maps the family's fields (text / text_a,
text_b / label / id; tagging: words, tags) to the dataset's columns, each defaulting to the field's own
name (tagging: `tokens` and `tags`); `splits` may rename splits (default dev -> validation). Two XTREME
datasets need code to name their configs, so their sections say `loader: udpos` / `loader: panx`:
- UDPOS  `google/xtreme`, config `udpos.<English name>`: tokens, pos_tags Sequence(ClassLabel[17 UPOS])
- PAN-X  `google/xtreme`, config `PAN-X.<lang>` (XTREME's 40 languages), else `unimelb-nlp/wikiann`,
  config `<lang>`: tokens, ner_tags Sequence(ClassLabel[O, B-PER, I-PER, B-ORG, I-ORG, B-LOC, I-LOC]), langs
The others, by their sections: XNLI `facebook/xnli` (premise, hypothesis, label ClassLabel[entailment,
neutral, contradiction]); PAWS-X `google-research-datasets/paws-x` (id, sentence1, sentence2, label
ClassLabel["0", "1"]; -1 marks a missing label: kept as None and counted as `missing_labels`); SIB-200
`Davlan/sib200`, config = the FLORES-200 code (index_id int64, text string, category string).
ClassLabel names are read from the dataset's features, never assumed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from xlpt.data.examples import PairExample, TaggedSentence, TextExample
from xlpt.data.labels import normalise_label
from xlpt.errors import ConfigError, DataFormatError
from xlpt.tasks import TaskSpec, get_task

HUB_SPLITS = {"train": "train", "dev": "validation", "test": "test"}
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
_HUB_KEYS = frozenset({"repo", "config", "columns", "splits", "loader"})


@dataclass(frozen=True)
class HubLocation:
    repo: str
    config: str | None
    split: str

    def __str__(self) -> str:
        return f"hf:{self.repo}/{self.config}[{self.split}]" if self.config else f"hf:{self.repo}[{self.split}]"


def _udpos(lang: str, split: str, repo: str | None) -> HubLocation:
    if lang not in XTREME_UDPOS_NAMES:
        raise ConfigError(
            f"{XTREME_REPO} has no udpos config for {lang!r}; available: {', '.join(sorted(XTREME_UDPOS_NAMES))}"
        )
    return HubLocation(repo or XTREME_REPO, f"udpos.{XTREME_UDPOS_NAMES[lang]}", split)


def _panx(lang: str, split: str, repo: str | None) -> HubLocation:
    repo = repo or (XTREME_REPO if lang in XTREME_PANX_LANGS else WIKIANN_REPO)
    return HubLocation(repo, f"PAN-X.{lang}" if repo == XTREME_REPO else lang, split)


# loader name -> (where a language's split is, the (words, tags) columns)
LOADERS = {"udpos": (_udpos, ("tokens", "pos_tags")), "panx": (_panx, ("tokens", "ner_tags"))}


def hub_section(spec: TaskSpec) -> dict:
    """The task's `hub:` section, checked; ConfigError names the key that is wrong."""
    hub = spec.hub
    where = f"task {spec.name} ({spec.source or 'built in'})"
    if not hub:
        raise ConfigError(f"{where} has no hub: section, so data_dir=hf cannot load it; use a local --data-dir")
    unknown = sorted(set(hub) - _HUB_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown hub key(s) {', '.join(unknown)}; valid: {', '.join(sorted(_HUB_KEYS))}")
    if "loader" in hub and hub["loader"] not in LOADERS:
        raise ConfigError(f"{where}: hub.loader={hub['loader']!r} is not one of {', '.join(LOADERS)}")
    if "loader" not in hub and not isinstance(hub.get("repo"), str):
        raise ConfigError(f"{where}: hub.repo must name the dataset, e.g. Davlan/sib200")
    for key in ("columns", "splits"):
        if not isinstance(hub.get(key, {}), dict) or not all(isinstance(v, str) for v in hub.get(key, {}).values()):
            raise ConfigError(f"{where}: hub.{key} must map names to names")
    return hub


def hub_location(task: str, lang: str, split: str, repo: str | None = None) -> HubLocation:
    """Which hub dataset, config and split hold (task, lang, split). Raises ConfigError for unknown ones."""
    spec = get_task(task)
    hub = hub_section(spec)
    splits = {**HUB_SPLITS, **hub.get("splits", {})}
    if split not in HUB_SPLITS:
        raise ConfigError(f"unknown split {split!r}; valid splits: {', '.join(HUB_SPLITS)}")
    if spec.languages and lang not in spec.languages:
        raise ConfigError(f"unknown language {lang!r} for {spec.name}; valid: {', '.join(spec.languages)}")
    if "loader" in hub:
        return LOADERS[hub["loader"]][0](lang, splits[split], repo)
    config = hub.get("config", "{lang}")
    return HubLocation(repo or hub["repo"], None if config is None else str(config).replace("{lang}", lang),
                       splits[split])


def load_hub_split(task: str, lang: str, split: str, *, repo: str | None = None, limit: int | None = None):
    """Download (or read from the HF cache) one split and convert it. Returns a LoadedSplit."""
    from xlpt.data.loading import LoadedSplit

    location = hub_location(task, lang, split, repo)
    try:
        import datasets
    except ImportError as err:  # pragma: no cover - datasets is a declared dependency
        raise ConfigError("source 'hf' needs the Hugging Face `datasets` package") from err
    from xlpt.models.hub_access import hub_unusable

    offline = hub_unusable()
    if offline:
        datasets.config.HF_HUB_OFFLINE = True  # read at call time: the cache only, no minutes of retries
    try:
        dataset = datasets.load_dataset(location.repo, location.config, split=location.split)
    except Exception as err:  # network, auth, unknown config: all mean "cannot get it", say so plainly
        hint = f" (the hub cannot be used: {offline}; point --data-dir at a local copy of the task's files)" if offline else ""
        raise ConfigError(f"could not load {location} from the Hugging Face hub{hint}: "
                          f"{' '.join(str(err).split())}") from err
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
    hub = hub_section(spec)
    where = where or f"hf:{spec.name}/{lang}[{split}]"
    columns = hub.get("columns", {})
    if spec.family_info.pretokenized:
        words, tags = LOADERS[hub["loader"]][1] if "loader" in hub else (columns.get("words", "tokens"),
                                                                         columns.get("tags", "tags"))
        names = _class_names(dataset, tags)
        return [_tagged_row(spec, lang, row, words, tags, names, where, n) for n, row in enumerate(dataset, start=1)]
    fields = {field: columns.get(field, field) for field in (*spec.family_info.fields, "label", "id")}
    names = _class_names(dataset, fields["label"])
    return [_text_row(spec, lang, row, fields, names, where, n) for n, row in enumerate(dataset, start=1)]


def _text_row(spec: TaskSpec, lang: str, row: dict, fields: dict[str, str], names, where: str, n: int):
    texts = spec.family_info.fields
    _require(row, [fields[f] for f in (*texts, "label")], where, n)
    label = _label_name(spec, row[fields["label"]], names, where, n)
    raw_id = row.get(fields["id"])
    example_id = str(raw_id) if raw_id is not None else f"{where}:{n}"
    values = [row[fields[f]] for f in texts]
    if not all(isinstance(value, str) for value in values):
        raise DataFormatError(where, n, f"text column(s) {', '.join(fields[f] for f in texts)} must be strings")
    if len(values) == 1:
        return TextExample(values[0], label, lang, example_id)
    return PairExample(values[0], values[1], label, lang, example_id)


def _tagged_row(spec: TaskSpec, lang: str, row: dict, words_column: str, column: str, names, where: str,
                n: int) -> TaggedSentence:
    _require(row, (words_column, column), where, n)
    words, raw_tags = list(row[words_column]), list(row[column])
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
    return (example.tags if isinstance(example, TaggedSentence) else example.label) is None
