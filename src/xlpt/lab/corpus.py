"""Writing a lab's text: the pretraining mixture and the task data, in the layout the data layer reads.

Layout under the lab's folder:

    corpus/train/<lang>.txt     pretraining documents, one per line (sentences joined by the period)
    corpus/dev/<lang>.txt       held-out documents for the pretraining dev loss
    data/<task>/<lang>/{train,dev,test}.tsv     task data (tagging tasks: token<TAB>tag lines)
    data/tasks/<task>.yaml      task definitions for the task registry (`--include-path data/tasks`)
    data/manifest.json          sizes, label counts, example sentences with glosses
    lexicon.tsv                 every lexeme with its gloss and its word in each language

Random streams are separate and named (`<seed>/<purpose>/<language>`), so adding a language or
changing one size leaves every other stream, and so every other file, unchanged.

* Pretraining: each language gets round(share x corpus.sentences) sentences, drawn independently per
  language (comparable, not parallel, corpora), in documents of one topic.
* Tasks: meanings are drawn once per split and realised in every language, so dev and test are
  parallel (row i is the same meaning in every language, with the same id). Test, dev and train
  meanings are disjoint. The pretraining corpus is not filtered (that would skew it away from the
  short, frequent sentences); the manifest reports the share of test meanings that also occur in each
  language's pretraining text. Pretraining has no labels, so such overlap leaks nothing.
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from xlpt.lab.grammar import (ENTITY_TAGS, PAIR_LABELS, POS_TAGS, Clause, Lexicon, MeaningSampler, NounPhrase,
                              sample_distinct)
from xlpt.lab.languages import Language
from xlpt.lab.spec import LabSpec

TASKS = ("lab_topic", "lab_nli", "lab_pos", "lab_ner")
SPLITS = ("train", "dev", "test")


@dataclass
class TaskMeanings:
    """The meanings of every split: clauses for the sentence tasks, pairs for the pair task."""

    sentences: dict  # split -> list[Clause]
    pairs: dict      # split -> list[Pair]



def sampler(spec: LabSpec, lexicon: Lexicon, stream: str) -> MeaningSampler:
    return MeaningSampler(lexicon, spec.grammar, random.Random(f"{spec.seed}/{stream}"), spec.seed)


def task_meanings(spec: LabSpec, lexicon: Lexicon) -> TaskMeanings:
    """Test first, then dev, then train, each disjoint from the splits drawn before it."""
    sizes = {"test": spec.tasks.test, "dev": spec.tasks.dev, "train": spec.tasks.train}
    sentences, pairs, seen_clauses, seen_pairs = {}, {}, set(), set()
    for split, n in sizes.items():
        clause_sampler = sampler(spec, lexicon, f"tasks/sentences/{split}")
        sentences[split] = sample_distinct(clause_sampler.clause, n, seen_clauses, f"{split} sentences")
        seen_clauses.update(sentences[split])
        pair_sampler = sampler(spec, lexicon, f"tasks/pairs/{split}")
        pairs[split] = sample_distinct(pair_sampler.pair, n, seen_pairs, f"{split} sentence pairs")
        seen_pairs.update(pairs[split])
    return TaskMeanings(sentences, pairs)


def _documents(spec: LabSpec, lexicon: Lexicon, stream: str, n_sentences: int, bar=None) -> list[list[Clause]]:
    """Documents (lists of clauses) totalling exactly `n_sentences` (the last one cut short)."""
    draw = sampler(spec, lexicon, stream)
    documents, total = [], 0
    while total < n_sentences:
        document = draw.document()[: n_sentences - total]
        documents.append(document)
        total += len(document)
        if bar is not None:
            bar.update(len(document))
    return documents


def pretraining_documents(spec: LabSpec, lexicon: Lexicon, languages: dict[str, Language],
                          test_meanings: list[Clause], progress: bool = False) -> tuple[dict, dict, dict]:
    """(train documents, dev documents, statistics), each a dict keyed by language; documents are strings."""
    from xlpt.progress import progress_bar

    train, dev, stats = {}, {}, {}
    dev_counts = _dev_allocation(spec)
    test = set(test_meanings)
    bar = progress_bar(total=spec.corpus.sentences, desc="corpus", unit="sentence", disable=not progress, leave=False)
    for name, language in languages.items():
        n_sentences = round(spec.language(name).share * spec.corpus.sentences)
        clauses = _documents(spec, lexicon, f"pretraining/{name}", n_sentences, bar)
        train[name] = [language.document(doc) for doc in clauses]
        dev_draw = sampler(spec, lexicon, f"pretraining-dev/{name}")
        dev[name] = [language.document(dev_draw.document()) for _ in range(dev_counts[name])]
        seen = {clause for doc in clauses for clause in doc}
        n_sentences = sum(map(len, clauses))
        stats[name] = {"documents": len(clauses), "sentences": n_sentences,
                       "words": sum(len(doc.split(" ")) for doc in train[name]) - n_sentences,  # periods aside
                       "dev_documents": len(dev[name]),
                       "test_meanings_in_pretraining": len(test & seen) / max(1, len(test))}
    bar.close()
    return train, dev, stats


def _dev_allocation(spec: LabSpec) -> dict[str, int]:
    """Dev documents per language in proportion to share (largest remainders, so they sum exactly)."""
    n = spec.corpus.dev_documents
    exact = {s.name: s.share * n for s in spec.all_languages}
    counts = {name: int(value) for name, value in exact.items()}
    for name in sorted(exact, key=lambda k: counts[k] - exact[k])[: n - sum(counts.values())]:
        counts[name] += 1
    return counts


def balanced_sample(spec: LabSpec, lexicon: Lexicon, languages: dict[str, Language]) -> dict[str, list[str]]:
    """`tokenizer.balanced_sentences` sentences per language (own stream), for the balanced tokenizer."""
    sample = {}
    for name, language in languages.items():
        draw = sampler(spec, lexicon, f"balanced/{name}")
        sample[name] = [language.sentence(draw.clause()) for _ in range(spec.tokenizer.balanced_sentences)]
    return sample


# ------------------------------------------------------------------------------------------- writing


def write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_tagged(path: Path, sentences: list[list[tuple[str, str]]]) -> None:
    """token<TAB>tag lines, one blank line between sentences (the XTREME tag format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    blocks = ["\n".join(f"{word}\t{tag}" for word, tag in sentence) for sentence in sentences]
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def _split_languages(spec: LabSpec, split: str, languages: dict) -> list[str]:
    if split == "train" and not spec.tasks.train_all_languages:
        return [spec.base.name]
    return list(languages)


def write_task_data(spec: LabSpec, meanings: TaskMeanings, languages: dict[str, Language], data_dir: Path) -> dict:
    """Write the four tasks for every split and language; returns label counts per task and split."""
    counts: dict = {task: {} for task in TASKS}
    for split in SPLITS:
        clauses, pairs = meanings.sentences[split], meanings.pairs[split]
        ids = [f"{split}-{i}" for i in range(len(clauses))]
        counts["lab_topic"][split] = dict(Counter(c.topic for c in clauses))
        counts["lab_nli"][split] = dict(Counter(p.label for p in pairs))
        for name in _split_languages(spec, split, languages):
            language = languages[name]
            realised = [language.realize(clause) for clause in clauses]
            texts = [" ".join(token.word for token in tokens) for tokens in realised]
            write_tsv(data_dir / "lab_topic" / name / f"{split}.tsv", ["id", "text", "label"],
                      [[i, text, clause.topic] for i, text, clause in zip(ids, texts, clauses)])
            write_tsv(data_dir / "lab_nli" / name / f"{split}.tsv", ["id", "text_a", "text_b", "label"],
                      [[f"{split}-{k}", language.sentence(p.premise), language.sentence(p.hypothesis), p.label]
                       for k, p in enumerate(pairs)])
            write_tagged(data_dir / "lab_pos" / name / f"{split}.tsv", [[(t.word, t.pos) for t in s] for s in realised])
            write_tagged(data_dir / "lab_ner" / name / f"{split}.tsv", [[(t.word, t.entity) for t in s] for s in realised])
        tags = [token for clause in clauses for token in languages[spec.base.name].realize(clause)]
        counts["lab_pos"][split] = dict(Counter(t.pos for t in tags))
        counts["lab_ner"][split] = dict(Counter(t.entity for t in tags))
    return counts


def topic_template(base: Language) -> str:
    """The base copula "X is a ___" with the text as X, cut before the category word (the verbalizer slot).

    In orders where the object comes before the subject, the words before the category hold no subject,
    so the text goes first ("{text} a")."""
    frame = _copula_frame(base.lexicon)
    words = []
    for token in base.realize(frame):
        if token.lexeme == frame.category:
            break
        words.append("{text}" if token.lexeme == frame.subjects[0].head else token.word)
    if "{text}" not in words:
        words.insert(0, "{text}")
    return " ".join(words)


def _copula_frame(lexicon: Lexicon) -> Clause:
    """ "NOUN is a CATEGORY" with a bare noun standing for the text."""
    noun = next(lex for lex in lexicon.lexemes if lex.kind == "noun")
    return Clause(noun.topic, (NounPhrase(noun.id),), category=lexicon.category(noun.topic))


def task_definitions(spec: LabSpec, languages: dict[str, Language], lexicon: Lexicon) -> dict[str, dict]:
    """The task YAMLs (the registry's schema, `templates:` form). Label words are base words seen in pretraining."""
    base = languages[spec.base.name]
    template = topic_template(base)
    train_lang = spec.base.name
    definitions = {
        "lab_topic": {
            "name": "lab_topic", "family": "text_classification", "labels": list(spec.grammar.topics),
            "metric": "accuracy",
            "data": {"path": "lab_topic/{lang}/{split}.tsv", "format": "tsv",
                     "columns": {"id": "id", "text": "text", "label": "label"}, "train_lang": train_lang},
            "templates": {"default": {
                "template": template,
                "label_words": {t: " " + base.form(lexicon.category(t)) for t in spec.grammar.topics}}},
        },
        "lab_nli": {
            "name": "lab_nli", "family": "pair_classification", "labels": list(PAIR_LABELS), "metric": "accuracy",
            "data": {"path": "lab_nli/{lang}/{split}.tsv", "format": "tsv",
                     "columns": {"id": "id", "text_a": "text_a", "text_b": "text_b", "label": "label"},
                     "train_lang": train_lang},
            "templates": {"default": {
                "template": "{text_a} " + spec.base.period + " {text_b} " + spec.base.period,
                "label_words": {"entailment": " " + base.form("function.and"),
                                "contradiction": " " + base.form("function.not")}}},
        },
        "lab_pos": {"name": "lab_pos", "family": "tagging", "labels": list(POS_TAGS), "metric": "accuracy",
                    "data": {"path": "lab_pos/{lang}/{split}.tsv", "format": "tag", "train_lang": train_lang}},
        "lab_ner": {"name": "lab_ner", "family": "tagging", "labels": list(ENTITY_TAGS), "metric": "f1",
                    "data": {"path": "lab_ner/{lang}/{split}.tsv", "format": "tag", "train_lang": train_lang}},
    }
    return definitions


def write_lexicon(path: Path, lexicon: Lexicon, languages: dict[str, Language]) -> None:
    """One row per lexeme: id, kind, POS, topic, gloss, then its word in each language (accusative after |)."""
    rows = []
    for lex in lexicon.lexemes:
        forms = [language.form(lex.id) + (f"|{language.form(lex.id, True)}" if language.takes_case(lex.id) else "")
                 for language in languages.values()]
        rows.append([lex.id, lex.kind, lex.pos, lex.topic or "", lex.gloss, *forms])
    write_tsv(path, ["lexeme", "kind", "pos", "topic", "gloss", *languages], rows)


def write_text(spec: LabSpec, lexicon: Lexicon, languages: dict[str, Language], root: Path,
               progress: bool = False) -> dict:
    """Write the corpus, the task data, the task YAMLs and the lexicon under `root`; returns the manifest."""
    meanings = task_meanings(spec, lexicon)
    train, dev, pretraining_stats = pretraining_documents(spec, lexicon, languages, meanings.sentences["test"], progress)
    for name in languages:
        write_lines(root / "corpus" / "train" / f"{name}.txt", train[name])
        write_lines(root / "corpus" / "dev" / f"{name}.txt", dev[name])
    data_dir = root / "data"
    label_counts = write_task_data(spec, meanings, languages, data_dir)
    for task, definition in task_definitions(spec, languages, lexicon).items():
        path = data_dir / "tasks" / f"{task}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(definition, allow_unicode=True, sort_keys=False), encoding="utf-8")
    write_lexicon(root / "lexicon.tsv", lexicon, languages)
    base = languages[spec.base.name]
    examples = [{"gloss": lexicon.gloss(t.lexeme for t in base.realize(clause)), "topic": clause.topic,
                 **{name: language.sentence(clause) for name, language in languages.items()}}
                for clause in meanings.sentences["test"][:3]]
    manifest = {
        "languages": list(languages), "base": spec.base.name, "lexemes": len(lexicon),
        "pretraining": pretraining_stats,
        "tasks": {task: {"labels": counts} for task, counts in label_counts.items()},
        "task_sizes": {split: len(meanings.sentences[split]) for split in SPLITS},
        "train_languages": _split_languages(spec, "train", languages),
        "examples": examples,
    }
    (data_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest

