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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xlpt.data.choice import Resolved, SplitSource
from xlpt.data.contract import Contract, problem
from xlpt.data.files import SPLITS, DataFile, Scan
from xlpt.data.labels import normalise_label
from xlpt.errors import ConfigError, DataFormatError
from xlpt.tasks import TaskSpec

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


def hub_location(spec: TaskSpec, lang: str, split: str, repo: str | None = None) -> HubLocation:
    """Which hub dataset, config and split hold (task, lang, split). Raises ConfigError for unknown ones."""
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


@dataclass
class HubSplit:
    """One split read from the hub: what data/loading.py turns into its LoadedSplit (loading imports this
    module, so this module must not import loading)."""

    task: str
    lang: str
    split: str
    examples: list
    files: list = field(default_factory=list)
    """No local files: the hub location is in `notes`."""
    labeled: bool = True
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def read_hub_split(spec: TaskSpec, lang: str, split: str, *, repo: str | None = None,
                   limit: int | None = None) -> HubSplit:
    """Download (or read from the HF cache) one split and convert it."""
    location = hub_location(spec, lang, split, repo)
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
    examples = rows_to_examples(spec, lang, split, dataset, where=str(location))
    missing = sum(example.label is None for example in examples)
    notes = [f"read {location}"]
    if missing:
        notes.append(f"{missing} rows have no label on the hub (-1); kept with label None")
    return HubSplit(spec.name, lang, split, examples, [], missing < len(examples), {"missing_labels": missing}, notes)


def rows_to_examples(spec: TaskSpec, lang: str, split: str, dataset: Iterable[dict], *,
                     where: str | None = None) -> list:
    """Convert hub rows (a `datasets.Dataset` or any iterable of dicts with its schema) to examples.

    Each field's column is the task's `hub.columns` entry, else the family's default (tagging: tokens and
    tags), else the field's own name. Integer labels (and tag ids, element-wise) are mapped through the
    dataset's own ClassLabel names when it has features, else through the task's label names and order;
    the family builds the example (`row_to_example`). Raises DataFormatError naming the row for a missing
    column, an unknown label, or what the family refuses (a token/tag count mismatch, a non-text field).
    """
    where = where or f"hf:{spec.name}/{lang}[{split}]"
    columns = hub_columns(spec)
    names = _class_names(dataset, columns["label"])
    record = spec.family_record
    examples = []
    for n, row in enumerate(dataset, start=1):
        _require(row, [columns[name] for name in (*spec.example_fields, "label")], where, n)
        values = {name: row[columns[name]] for name in spec.example_fields}
        values["label"] = _label(spec, row[columns["label"]], names, where, n)
        values["id"] = None if row.get(columns["id"]) is None else str(row[columns["id"]])
        try:
            examples.append(record.row_to_example(spec, values, lang, f"{where}:{n}"))
        except ValueError as err:
            raise DataFormatError(where, n, str(err)) from None
    return examples


def hub_columns(spec: TaskSpec) -> dict[str, str]:
    """Field (and `label`, `id`) -> the hub dataset's column for it."""
    hub = hub_section(spec)
    given, defaults = hub.get("columns", {}), spec.family_record.hub_defaults
    columns = {name: given.get(name, defaults.get(name, name)) for name in (*spec.example_fields, "label", "id")}
    if "tags" in given:  # the older spelling of a tagging task's label column
        columns["label"] = given["tags"]
    if "loader" in hub:  # the XTREME configs named by code: their columns are fixed
        columns["words"], columns["label"] = LOADERS[hub["loader"]][1]
    return columns


def _label(spec: TaskSpec, raw, names, where: str, n: int):
    """A label name, a tuple of tag names (a sequence of tags), or None (the hub's -1 / a missing label)."""
    if isinstance(raw, (list, tuple)):
        return tuple(_tag_name(spec, tag, names, where, n) for tag in raw)
    return _label_name(spec, raw, names, where, n)


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




# ----------------------------------------------------------------------------- the hub as a DataSource


def is_hub(where: str) -> bool:
    """Whether a --data-dir value means the Hugging Face hub (`hf`, or `hf:<repo>` to override the repo)."""
    return str(where) == "hf" or str(where).startswith("hf:")


class HubSource:
    """The DataSource (data/sources.py) of `--data-dir hf[:<repo>]`: every language the task lists, each with
    train, dev and test, read through the task's `hub:` section. A language the hub cannot hold (no config
    for it) is a problem of that language, as a broken file is on disk. A task without a language list is
    open: the languages a run names are added (`resolve(languages)`)."""

    def __init__(self, spec: TaskSpec, where: str = "hf"):
        self.spec, self.where = spec, str(where)
        self.open_languages = not spec.languages
        self.repo = self.where[3:] or None

    def scan(self, languages: Sequence[str] = ()) -> Scan:
        """One entry per (language, split): the hub location as its path, fmt `hub`."""
        hub_section(self.spec)  # a missing or malformed hub: section is the task's error, not a language's
        result = Scan(self.spec, Path(self.where))
        for lang in dict.fromkeys([*self.spec.languages, *languages]):
            try:
                locations = {split: hub_location(self.spec, lang, split, self.repo) for split in SPLITS}
            except ConfigError as err:
                result.problems.append(problem(f"{self.where}:{self.spec.name}/{lang}", str(err), lang))
                continue
            result.files += [DataFile(Path(str(location)), lang, split, "hub", True, self.where)
                             for split, location in locations.items()]
        return result

    def resolve(self, languages: Sequence[str] = ()) -> Resolved:
        found = self.scan(languages)
        contract = Contract(self.spec.name, Path(self.where), problems=list(found.problems))
        contract.rules.append(f"{self.spec.name}: read from the Hugging Face hub ({self.where}); repo and config "
                              "per language are in each split's notes")
        sources: dict[str, dict[str, SplitSource]] = {}
        for item in found.files:
            sources.setdefault(item.lang, {})[item.split] = SplitSource(
                self.spec.name, item.lang, item.split, item.fmt, (), True, self.where)
        return Resolved(sources, contract, found)

    def reads(self, source: SplitSource) -> str:
        """What `load_split` is given for a chosen split: `hf` or `hf:<repo>`."""
        return self.where

    def log_lines(self, contract: Contract) -> list[str]:
        lines = [f"data: {self.spec.name} from the Hugging Face hub ({self.where}); repo and config per language "
                 "are in each split's notes"]
        return lines + [f"problem: {item}" for item in contract.problems]

    def record(self, contract: Contract) -> dict:
        return {"hub": self.where, "used": {}, "ignored": [], "rules": list(contract.rules),
                "problems": contract.to_json()["problems"], "unusable_languages": contract.blocked()}
