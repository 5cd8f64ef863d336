"""A task as data: what its examples are, its labels, metric, languages, where its files are, and how a
decoder reads it (templates with label words, zero-shot prompts). Built-in tasks are YAML files in
`tasks/builtin/`; users add their own with `--include-path DIR` (see tasks/registry.py).

    name: mytopic                  # xlpt train --task mytopic --include-path DIR ...
    family: text_classification    # text_classification | pair_classification | tagging
    labels: [science/technology, travel, politics, ...]
    metric: accuracy
    data:
      path: "{lang}/{split}.tsv"   # relative to --data-dir; {split} is train, dev or test
      format: tsv                  # tsv | csv (header row, csv quoting) | jsonl (keys) ; tagging: tag | conllu
      columns: {text: text, label: category}   # pair tasks: text_a, text_b, label; optional id
      train_lang: eng_Latn
    template: "{text} Topic:"      # or several: templates: {name: {template: ..., label_words: {...}}}
    label_words: {science/technology: " science", travel: " travel", ...}

Every key is checked when the file is read; an error names the file, the key and what is allowed.
Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import json
import string
from typing import Literal

from pydantic import Field, model_validator

from xlpt.schema import Bool, Section
from xlpt.errors import ConfigError
from xlpt.tasks.families import FamilyRecord, family_record

SPLITS = ("train", "dev", "test")


class Template(Section):
    """A format string over the example's text fields that ends where the answer goes, and one answer
    word per label (with its leading space: it follows the template in running text). A word may be
    several tokens: its log-probability is then summed over its tokens (see tasks.templates)."""

    text: str = Field(alias="template", min_length=1)
    label_words: dict[str, str]

    model_config = Section.model_config | {"populate_by_name": True}

    def placeholders(self) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.text) if name}


class SourceExclusion(Section):
    """Files that must never serve some splits, and why (written into the data contract as ignored)."""

    origin: str | None = None
    """Source-folder prefix (`xglue` matches `xglue-supergleber`)."""
    file: str | None = None
    """Exact file name (`translated_train.tsv`)."""
    splits: tuple[Literal["train", "dev", "test"], ...] = SPLITS
    """The splits the files may not serve (default: all)."""
    why: str = Field(min_length=1)
    """One line for the contract: why the files are never used."""

    @model_validator(mode="after")
    def _names_something(self) -> "SourceExclusion":
        if self.origin is None and self.file is None:
            raise ValueError(f"data.sources.exclude: an entry names neither `origin` nor `file` (why: {self.why!r})")
        return self

    def applies(self, origin: str, name: str, split: str) -> bool:
        return (split in self.splits and (self.origin is None or origin.startswith(self.origin))
                and (self.file is None or name == self.file))


class SourceRules(Section):
    """How the shared / XTREME layouts (data/layout.py) choose among a language's source folders."""

    order: tuple[str, ...] = ()
    """Source-folder prefixes, most preferred first (`xtreme` before `xglue`); a folder no prefix matches ranks
    after all of them. Labeled files always come before unlabeled ones, whatever the order."""
    exclude: tuple[SourceExclusion, ...] = ()
    """Files that never serve some splits (XGLUE's re-split of XNLI dev as train/dev)."""
    readers: tuple[str, ...] = ()
    """The readers (the manifest's format names: tsv3, hdr4, conllu, ...) this task's files may be read with; a
    file that could only be read with another is a problem of its language. Empty: any the family accepts."""
    formats: dict[str, str] = Field(default_factory=dict)
    """Source-folder prefix -> reader (the manifest's format name, e.g. xcopa_jsonl): files there are read with
    it, not guessed from their name and contents."""

    @model_validator(mode="after")
    def _check(self) -> "SourceRules":
        repeated = sorted({origin for origin in self.order if self.order.count(origin) > 1})
        if repeated:
            raise ValueError(f"data.sources.order names {', '.join(repeated)} twice")
        blank = [origin for origin in (*self.order, *self.formats) if not origin.strip() or "/" in origin]
        if blank:
            raise ValueError(f"data.sources: {blank[0]!r} is not a source-folder prefix (one folder name, not empty)")
        undeclared = sorted(set(self.formats.values()) - set(self.readers)) if self.readers else []
        if undeclared:
            raise ValueError(f"data.sources.formats uses {', '.join(undeclared)}, not among data.sources.readers")
        return self

    def rank(self, origin: str) -> int:
        """Position of the first prefix `origin` starts with (unmatched: after all of them)."""
        return next((i for i, prefix in enumerate(self.order) if origin.startswith(prefix)), len(self.order))

    def exclusion(self, origin: str, name: str, split: str) -> str | None:
        """Why a file may not serve `split` (the first matching `exclude` entry), or None."""
        return next((f"not used ({entry.why})" for entry in self.exclude if entry.applies(origin, name, split)), None)

    def format_of(self, origin: str) -> str | None:
        """The declared reader of a source folder (longest matching prefix), or None."""
        matches = [prefix for prefix in self.formats if origin.startswith(prefix)]
        return self.formats[max(matches, key=len)] if matches else None


class DataSection(Section):
    """Where a task's files are under --data-dir and how to read them (the task YAML's `data:`)."""

    layout: Literal["path", "xtreme"] = "path"
    """path: files found by the `path` pattern | xtreme: the XTREME / shared-data layout
    `<task>/<lang>/<source>/<file>` or `download/<task>/<split>-<lang>.tsv` (data/layout.py), with the
    rules of `sources`."""
    path: str | None = None
    """Pattern relative to --data-dir with {lang} and {split} (train, dev, test), e.g. "{lang}/{split}.tsv"."""
    format: str | None = None
    """File format (the family lists what it accepts)."""
    columns: dict[str, str] = Field(default_factory=dict)
    """Field name -> column (tsv/csv header name, jsonl key); `label` names the label column, `id` an
    optional example id. Fields default to their own name."""
    sources: SourceRules = Field(default_factory=SourceRules)
    """layout xtreme: source order, exclusions and declared readers (see SourceRules)."""
    train_lang: str = "en"
    """The source language: training and checkpoint selection read only its data."""
    label_parallel: Bool = False
    """Dev/test rows are parallel with identical labels in every language, so a label-stripped file may
    take its labels row by row from a labeled one (XNLI). Never set it for tasks whose labels differ."""
    label_aliases: dict[str, str] = Field(default_factory=dict)
    """Other spellings of labels found in files (lower-cased spelling -> label), e.g. contradictory."""
    parallel: Literal["row", "id"] | None = None
    """How rows align across languages: row (row i of a split is the same item in every language: XNLI,
    PAWS-X, XCOPA) | id (equal example ids are the same item, in any split: SIB-200's index_id) | empty = not
    declared: leakage across languages is then not checked, and results and the report say so. Evaluation
    never scores a row that translates a training row (counted as excluded_parallel)."""
    corpus: str | None = None
    """The parallel corpus the task's texts are taken from, when other tasks share it (flores200: SIB-200 and
    Belebele). Recorded with the parallel check (data/parallel.py); rows are not matched across tasks."""
    complete_test: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Language -> the files (CoNLL-U treebank stems such as de_hdt) the benchmark's test set is made of, where
    it is several: a test read from fewer is recorded as partial, per language, in results and tables."""

    @model_validator(mode="after")
    def _sources_need_the_layout(self) -> "DataSection":
        rules = self.sources
        if self.layout == "path" and (rules.order or rules.exclude or rules.formats or rules.readers):
            raise ValueError("data.sources applies to layout: xtreme only; a data.path task names its one file "
                             "per language and split")
        if self.corpus is not None and self.parallel is None:
            raise ValueError(f"data.corpus={self.corpus!r} needs data.parallel (row or id): a shared corpus is only "
                             "meaningful for parallel rows")
        return self


class LmEvalZeroShot(Section):
    """What lm-evaluation-harness does differently for this task (used with the zero-shot method's
    `target_delimiter=lm_eval` / `pawsx_preprocess=lm_eval`, see evaluation/zero_shot.py)."""

    target_delimiter: str = ""
    """The task YAML's `target_delimiter`, put before the continuation."""
    paraphrase_preprocess: tuple[str, ...] = ()
    """Languages whose lm-eval task YAML sets `process_docs: utils.process_docs_paraphrases`."""


class ZeroShotPrompts(Section):
    """In-context prompts of the zero-shot baseline: one filled-in text per label, scored by likelihood."""

    format: str = "{text_a}, {question}? {word}, {text_b}"
    words: dict[str, list[str]]
    """language -> [question word, then one word per label in label order]; other languages use `fallback`."""
    fallback: str = "en"
    source: str = ""
    lm_eval: LmEvalZeroShot = Field(default_factory=LmEvalZeroShot)

    def candidates(self, lang: str, fields: dict[str, str], words: dict | None = None) -> tuple[list[str], bool]:
        """One text per label (in label order), and whether `lang` had its own words (else the fallback's).
        `words` replaces this section's table (checked by `check_words`)."""
        words = self.words if words is None else words
        own = lang in words
        question, *label_words = words[lang if own else self.fallback]
        return [self.format.format(question=question, word=word, **fields) for word in label_words], own

    def check_words(self, words: dict, num_labels: int) -> None:
        """A words table must have the fallback language and, per language, a question and one word per label."""
        if self.fallback not in words:
            raise ConfigError(f"zero-shot words table has no {self.fallback!r} entry (the fallback language)")
        for lang, entry in words.items():
            if len(entry) != num_labels + 1:
                raise ConfigError(f"zero-shot words for {lang!r} must be (question, {num_labels} label words), "
                                  f"got {list(entry)!r}")


class TaskSpec(Section):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    family: str
    labels: tuple[str, ...] = Field(min_length=2)
    """Label names in index order (for tagging: the tag set)."""
    metric: str
    description: str = ""
    languages: tuple[str, ...] = ()
    """The benchmark's languages (informative, and the hub loader's list); the data layer discovers
    which languages are actually on disk and never assumes this list."""
    data: DataSection
    fields: tuple[str, ...] = ()
    """The text fields of an example (template placeholders, data columns besides `label`/`id`); empty = the
    family's defaults (pair_classification: text_a, text_b; text_classification: text; tagging: words)."""
    prompt: dict | None = None
    """A family's own prompt section (multiple choice: how context and choices are joined), checked by the
    family (`check_task`)."""
    template: str | None = None
    label_words: dict[str, str] | None = None
    templates: dict[str, Template] = Field(default_factory=dict)
    default_template: str = "default"
    zero_shot: ZeroShotPrompts | None = None
    hub: dict | None = None
    """How `data_dir=hf` finds the task on the Hugging Face hub (see data/hub.py)."""
    source: str = Field("", exclude=True)
    """The YAML file the task was read from (not part of its definition)."""

    @model_validator(mode="before")
    @classmethod
    def _single_template(cls, tree):
        """`template` + `label_words` is shorthand for `templates: {default: {template, label_words}}`.
        (Done before validation: assigning fields afterwards re-runs the checks on a half-converted task.)"""
        if isinstance(tree, dict) and (tree.get("template") is not None or tree.get("label_words") is not None):
            tree = dict(tree)
            template, words = tree.pop("template", None), tree.pop("label_words", None)
            if tree.get("templates") or template is None or words is None:
                raise ValueError("give either `template` + `label_words` or `templates`, not both")
            tree["templates"] = {"default": {"template": template, "label_words": words}}
        return tree

    @model_validator(mode="after")
    def _check(self) -> "TaskSpec":
        record = family_record(self.family)
        if self.metric not in record.metrics:
            raise ValueError(f"metric {self.metric!r} is not one of {', '.join(record.metrics)} for {self.family}")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels repeat: {list(self.labels)}")
        if len(set(self.fields)) != len(self.fields) or {"label", "id"} & set(self.fields):
            raise ValueError(f"fields {list(self.fields)}: names must be distinct and not `label` or `id`")
        self._check_labels()
        self._check_templates()
        self._check_data(record)
        if self.zero_shot is not None:
            try:
                self.zero_shot.check_words(self.zero_shot.words, len(self.labels))
            except ConfigError as error:
                raise ValueError(str(error)) from None
        record.check_task(self)  # what only the family knows (templates required, tag scheme, prompt section)
        return self

    def _check_templates(self) -> None:
        if self.templates and self.default_template not in self.templates:
            raise ValueError(f"default_template {self.default_template!r} is not among templates "
                             f"{', '.join(self.templates)}")
        for name, template in self.templates.items():
            check_template(template, self.labels, self.example_fields, f"templates.{name}")

    def _check_labels(self) -> None:
        """Files are matched stripped, and aliases lower-cased (data.labels): a label or alias that could never
        match would silently leave its examples out or fail every file."""
        for label in self.labels:
            if not label.strip():
                raise ValueError(f"labels: label {label!r} is empty")
            if label != label.strip():
                raise ValueError(f"labels: label {label!r} has leading or trailing spaces; labels in files are "
                                 "read stripped, so it could never match")
        for alias, label in self.data.label_aliases.items():
            if alias != alias.strip().lower():
                raise ValueError(f"data.label_aliases: {alias!r} must be lower case without outer spaces (file "
                                 f"labels are matched lower-cased): write {alias.strip().lower()!r}")
            if label not in self.labels:
                raise ValueError(f"data.label_aliases: {alias!r} maps to {label!r}, which is not a label "
                                 f"({', '.join(self.labels)})")
            if alias in self.labels:
                raise ValueError(f"data.label_aliases: {alias!r} is itself a label; an alias cannot rename it")

    def _check_data(self, record: FamilyRecord) -> None:
        data = self.data
        if data.layout == "xtreme":
            return
        if not data.path or "{lang}" not in data.path or "{split}" not in data.path:
            raise ValueError("data.path must be a pattern with {lang} and {split}, e.g. \"{lang}/{split}.tsv\"")
        if data.format not in record.formats:
            raise ValueError(f"data.format {data.format!r} is not one of {', '.join(record.formats)} for {self.family}")
        allowed = set(self.example_fields) | {"label", "id"}
        readers: dict[str, str] = {}
        for field_name in sorted(allowed | set(data.columns)):
            column = self.column(field_name)
            if column in readers:
                raise ValueError(f"data.columns: {readers[column]} and {field_name} both read column {column!r}; "
                                 "each field needs its own column")
            readers[column] = field_name

    # ------------------------------------------------------------------------------------------- use

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    @property
    def family_record(self) -> FamilyRecord:
        """The task's family (tasks/families): generic code asks it, never which family it is."""
        return family_record(self.family)

    @property
    def example_fields(self) -> tuple[str, ...]:
        """The example's text fields: the YAML's `fields`, else the family's defaults."""
        return self.fields or self.family_record.fields

    @property
    def train_lang(self) -> str:
        return self.data.train_lang

    def column(self, field_name: str) -> str:
        return self.data.columns.get(field_name, field_name)

    def resolve_template(self, choice: "str | Template | None") -> Template:
        """The template a run uses: a name from `templates`, an inline Template, or None for the default."""
        if isinstance(choice, Template):
            check_template(choice, self.labels, self.example_fields, "data.template")
            return choice
        name = choice or self.default_template
        if name not in self.templates:
            valid = ", ".join(self.templates) or "none (this task has no templates)"
            raise ConfigError(f"data.template={name!r}: task {self.name} has templates: {valid}")
        return self.templates[name]

    def definition_hash(self) -> str:
        # Keys added later are left out while unset, so a task's hash does not change with the schema.
        unset = {key for key in ("fields", "prompt") if not getattr(self, key)}
        blob = json.dumps(self.model_dump(mode="json", by_alias=True, exclude=unset), sort_keys=True,
                          ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def check_template(template: Template, labels: tuple[str, ...], fields: tuple[str, ...], where: str) -> None:
    check_format(template.text, fields, fields, where)
    if set(template.label_words) != set(labels):
        missing, extra = set(labels) - set(template.label_words), set(template.label_words) - set(labels)
        raise ValueError(f"{where}: label_words must give one word per label (missing {sorted(missing)}, "
                         f"unknown {sorted(extra)})")
    if any(not word.strip() for word in template.label_words.values()):
        raise ValueError(f"{where}: label words must not be empty")


def check_format(text: str, allowed: tuple[str, ...], required: tuple[str, ...], where: str) -> None:
    """A template is filled with `str.format(**fields)`: every placeholder must be a named field, used as is,
    and every required field must appear (a pair template without {text_b} trains on half the input)."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as err:
        raise ValueError(f"{where}: not a valid template ({err}); write a literal brace as {{{{ or }}}}") from None
    used = set()
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name == "" or name.isdigit():
            raise ValueError(f"{where}: positional placeholder {{{name}}} in {text!r}; name a field instead: "
                             f"{', '.join('{' + f + '}' for f in allowed)}")
        if spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise ValueError(f"{where}: {shown}: conversions (!r) and format specs (:d) are not supported; "
                             f"write {{{name}}}")
        used.add(name)
    unknown = used - set(allowed)
    if unknown:
        raise ValueError(f"{where}: placeholders {sorted(unknown)} are not fields of this task ({', '.join(allowed)})")
    missing = [name for name in required if name not in used]
    if missing:
        raise ValueError(f"{where}: the template never uses field(s) {', '.join(missing)}, so the model would "
                         f"never see them; add {' '.join('{' + m + '}' for m in missing)} to {text!r}")
