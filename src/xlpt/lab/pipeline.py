"""Running a lab: text -> tokenizer -> pretraining (and the control) -> retrieval, with caching.

Everything a spec builds lives in one folder named by the spec's hash, `OUT/lab-<key[:12]>/`:

    spec.json            the validated spec and its full key
    corpus/ data/ lexicon.tsv    (lab.corpus)
    tokenizer/           the tokenizer (HF format)
    pretraining-run/     the training loop's run folder (checkpoints, train_log.jsonl, plan.json)
    pretrained/          the pretrained model (HF format, marked by models.origin)
    control/             the no-pretraining control: same architecture, tokenizer and initial weights
    retrieval.json  lab.json     the measurements and the summary

Each stage writes `<stage>.done.json` when complete. A rerun with the same spec reuses every finished
stage; an unfinished stage is redone (pretraining resumes from its last checkpoint). A different spec
gets a different folder, so nothing built from one spec is ever overwritten by another.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path

from xlpt.atomic_files import write_json_atomic
from xlpt.errors import ConfigError
from xlpt.lab.spec import LabSpec, build_key
from xlpt.schema import load_yaml

STAGES = ("text", "tokenizer", "pretraining")


def lab_folder(spec: LabSpec, out_dir: str | os.PathLike) -> Path:
    return Path(out_dir) / f"lab-{build_key(spec)[:12]}"


def _write_json(path: Path, data) -> None:
    write_json_atomic(path, data, indent=1)


def _done(root: Path, stage: str) -> dict | None:
    path = root / f"{stage}.done.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def stage_line(stage: str, done: dict, seconds: float, reused: bool) -> str:
    """One console line for a finished stage; the pretraining's says its dev loss (a loss, lower is
    better, never a score) and perplexity."""
    line = f"stage {stage}: {'reused' if reused else 'done'} in {seconds:.1f} s"
    if stage == "pretraining":
        train = done["train"]
        loss = done["train"]["dev_history"][-1]["dev_score"] * -1 if train.get("dev_history") else None
        line += f"; {train['steps']} steps, {train['tokens_seen']:,} tokens ({train.get('tokens_per_second') or 0:,.0f} tok/s)"
        if loss is not None:
            line += f", dev loss {loss:.3f} (perplexity {math.exp(min(loss, 700)):.1f})"
    return line


class Lab:
    """One spec's build folder and its stages."""

    def __init__(self, spec: LabSpec, out_dir: str | os.PathLike, device: str = "auto", log=print,
                 progress: bool = True, announce=None):
        """`log`: the detail (the pretraining's evaluations); `announce`: one line per finished stage
        (default: `log`)."""
        self.spec, self.key = spec, build_key(spec)
        self.root = lab_folder(spec, out_dir)
        self.device, self.log, self.progress = device, log, progress
        self.announce = announce or log
        self.timings: dict[str, float] = {}
        self.reused: dict[str, bool] = {}
        self._claim_folder()

    # paths the study and the data layer use
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def tasks_dir(self) -> Path:
        return self.root / "data" / "tasks"

    @property
    def tokenizer_dir(self) -> Path:
        return self.root / "tokenizer"

    @property
    def pretrained_dir(self) -> Path:
        return self.root / "pretrained"

    @property
    def control_dir(self) -> Path:
        return self.root / "control"

    def _claim_folder(self) -> None:
        spec_path = self.root / "spec.json"
        if spec_path.exists():
            recorded = json.loads(spec_path.read_text(encoding="utf-8")).get("key")
            if recorded != self.key:  # only a hash-prefix collision or a hand-edited folder gets here
                raise ConfigError(f"{self.root} holds a lab built from another spec (key {recorded}); "
                                  "remove it or choose another --out")
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"cannot create the lab folder {self.root}: {err}") from err
        _write_json(spec_path, {"key": self.key, "spec": self.spec.model_dump(mode="json")})

    def languages(self):
        """(the lexicon, every language of the spec by name), rebuilt from the spec (deterministic, fast)."""
        from xlpt.lab.grammar import build_lexicon
        from xlpt.lab.languages import build_languages

        lexicon = build_lexicon(self.spec.grammar)
        return lexicon, build_languages(self.spec, lexicon)

    def _stage(self, stage: str, build) -> dict:
        """Run `build()` unless the stage finished before; records timing and reuse."""
        started = time.perf_counter()
        done = _done(self.root, stage)
        self.reused[stage] = done is not None
        if done is None:
            done = build()
            _write_json(self.root / f"{stage}.done.json", done)
        self.timings[stage] = time.perf_counter() - started
        self.announce(stage_line(stage, done, self.timings[stage], self.reused[stage]))
        return done

    # ---------------------------------------------------------------------------------------- stages

    def text(self) -> dict:
        def build():
            from xlpt.lab.corpus import write_text

            for leftover in ("corpus", "data"):  # an interrupted earlier attempt
                shutil.rmtree(self.root / leftover, ignore_errors=True)
            lexicon, languages = self.languages()
            return write_text(self.spec, lexicon, languages, self.root, self.progress)

        return self._stage("text", build)

    def tokenizer(self) -> dict:
        def build():
            from xlpt.lab.corpus import balanced_sample, read_lines
            from xlpt.lab.tokenizer import build_tokenizer

            lexicon, languages = self.languages()
            lines = [line for name in languages for line in read_lines(self.root / "corpus" / "train" / f"{name}.txt")]
            balanced = None
            if self.spec.tokenizer.mode == "balanced":
                balanced = [s for sample in balanced_sample(self.spec, lexicon, languages).values() for s in sample]
            shutil.rmtree(self.tokenizer_dir, ignore_errors=True)
            return build_tokenizer(self.spec, languages, lines, balanced, self.tokenizer_dir)

        return self._stage("tokenizer", build)

    def load_tokenizer(self):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(self.tokenizer_dir))

    def corpus(self, split: str) -> tuple[list[str], list[str]]:
        """(documents, the language of each document) of a corpus split, languages in spec order."""
        from xlpt.lab.corpus import read_lines

        documents, owners = [], []
        for language in self.spec.all_languages:
            path = self.root / "corpus" / split / f"{language.name}.txt"
            lines = read_lines(path) if path.exists() else []
            documents += lines
            owners += [language.name] * len(lines)
        return documents, owners

    def objective(self, tokenizer):
        """The causal-LM objective over the corpus, with per-language token counts and cut counts."""
        from xlpt.lab.pretrain import CausalLMObjective, encode_documents

        max_length = self.spec.pretraining.max_length
        encoded = {}
        for split in ("train", "dev"):
            documents, owners = self.corpus(split)
            periods = [self.spec.language(owner).period for owner in owners]
            encoded[split] = (*encode_documents(tokenizer, documents, periods, max_length), owners)
        train_ids, cuts, owners = encoded["train"]
        tokens: dict[str, int] = dict.fromkeys(self.spec.language_names, 0)
        for ids, owner in zip(train_ids, owners):
            tokens[owner] += len(ids)
        return CausalLMObjective(train_ids, encoded["dev"][0], tokenizer.pad_token_id), tokens, cuts

    def pretraining(self) -> dict:
        def build():
            from xlpt.lab.pretrain import init_model, pretrain, save_model
            from xlpt.models.loading import load_causal_lm, resolve_device

            tokenizer = self.load_tokenizer()
            objective, tokens, cuts = self.objective(tokenizer)
            device = resolve_device(self.device)
            probe = self.probe_text()
            shutil.rmtree(self.control_dir, ignore_errors=True)
            control = init_model(self.spec.model, tokenizer)
            save_model(control, tokenizer, self.control_dir, self._describe("no-pretraining control"), probe,
                       self.notice("control"))
            model = init_model(self.spec.model, tokenizer).to(device)
            result = pretrain(self.spec, model, objective, self.root / "pretraining-run", device, self.log, self.progress)
            model.eval()
            result["dev_loss_by_language"] = self._dev_loss_by_language(objective, model)
            result["control_dev_loss"] = objective.mean_loss(control.to(device), objective.dev_ids)
            shutil.rmtree(self.pretrained_dir, ignore_errors=True)
            save_model(model.cpu(), tokenizer, self.pretrained_dir, self._describe("pretrained"), probe,
                       self.notice("pretrained"))
            load_causal_lm(self.pretrained_dir, device="cpu")  # the folder must load through the ordinary path
            total = sum(tokens.values())
            result["tokens_by_language"] = tokens
            result["token_share"] = {name: count / total for name, count in tokens.items()}
            result["documents_cut"] = cuts
            return result

        return self._stage("pretraining", build)

    def _dev_loss_by_language(self, objective, model) -> dict[str, float]:
        """Mean next-token loss on each language's dev documents (languages with none are left out)."""
        _, owners = self.corpus("dev")
        losses = {}
        for name in dict.fromkeys(owners):
            sequences = [ids for ids, owner in zip(objective.dev_ids, owners) if owner == name]
            losses[name] = objective.mean_loss(model, sequences)
        return losses

    def _describe(self, what: str) -> str:
        m = self.spec.model
        return (f"{what} XGLM of lab {self.spec.name!r} (key {self.key[:12]}; {m.layers} layers, d={m.d_model}) "
                f"on synthetic languages {', '.join(self.spec.language_names)}")

    def notice(self, which: str) -> str:
        """The sentence every result of the lab's models carries (models.origin), instead of the
        pipeline-check banner: what these numbers are and what they are not."""
        m, budget = self.spec.model, self.spec.pretraining
        amount = (f"{budget.tokens:,} tokens" if budget.tokens else f"{budget.steps} steps" if budget.steps
                  else f"{budget.seconds:g} seconds")
        where = (f"a {m.layers}-layer, d={m.d_model} XGLM of `xlpt lab` (lab {self.spec.name!r}, key {self.key[:12]})")
        if which == "control":
            return (f"SYNTHETIC LANGUAGES, NO-PRETRAINING CONTROL: {where} with random weights and the lab's tokenizer. "
                    "Its numbers are the baseline of the lab's study (what training on the base language alone "
                    "transfers, e.g. through shared anchors), not a finding on their own.")
        return (f"SYNTHETIC LANGUAGES: {where}, pretrained on {amount} of synthetic text (one pretraining run). Its numbers "
                "are findings about controlled synthetic languages (one meaning grammar realised in a base language and "
                "in languages derived from it) at this tiny scale: they show what the controlled factors do here, not "
                "how real languages or real-size models behave, and not how much another pretraining run would differ.")

    def probe_text(self) -> str:
        """A base-language test sentence: the tokenizer check of models.tokenizer uses it."""
        from xlpt.lab.corpus import read_lines

        first = read_lines(self.data_dir / "lab_topic" / self.spec.base.name / "test.tsv")[1]
        return first.split("\t")[1]

    def test_rows(self, limit: int | None = None) -> dict[str, list[dict]]:
        """The parallel topic-task test rows (id, text, label) of every language (row i = the same meaning)."""
        import csv

        rows = {}
        for name in self.spec.language_names:
            with open(self.data_dir / "lab_topic" / name / "test.tsv", encoding="utf-8", newline="") as handle:
                rows[name] = list(csv.DictReader(handle, delimiter="\t"))[:limit]
        return rows

    def test_sentences(self, limit: int | None = None) -> dict[str, list[str]]:
        return {name: [row["text"] for row in rows] for name, rows in self.test_rows(limit).items()}

    def retrieval_inputs(self) -> tuple[dict, dict | None, list[str]]:
        """(word lists of the parallel test sentences per language, shared-word flags per derived language,
        the sentences' topics)."""
        settings, base = self.spec.retrieval, self.spec.base.name
        rows = self.test_rows(settings.sentences)
        words = {name: [row["text"].split(" ") for row in lang_rows] for name, lang_rows in rows.items()}
        topics = [row["label"] for row in rows[base]]
        if not settings.exclude_shared:
            return words, None, topics
        _, languages = self.languages()
        shared = {name: ([languages[name].shared_with(languages[base], s) for s in words[name]],
                         [languages[base].shared_with(languages[name], s) for s in words[base]])
                  for name in words if name != base}
        return words, shared, topics

    def retrieval(self) -> dict:
        """Retrieval per layer for the pretrained model and the control (always recomputed: seconds)."""
        from xlpt.lab.retrieval import retrieval_report
        from xlpt.models.loading import load_causal_lm

        started = time.perf_counter()
        settings = self.spec.retrieval
        words, shared, topics = self.retrieval_inputs()
        result = {"center": settings.center, "exclude_shared": settings.exclude_shared}
        for which, folder in (("pretrained", self.pretrained_dir), ("control", self.control_dir)):
            model, tokenizer = load_causal_lm(folder, device=self.device)
            result[which] = retrieval_report(model, tokenizer, words, self.spec.base.name, settings.center, shared,
                                             topics)
        _write_json(self.root / "retrieval.json", result)
        self.timings["retrieval"] = time.perf_counter() - started
        self.announce(stage_line("retrieval", result, self.timings["retrieval"], False))
        return result

    def fertility(self) -> dict:
        from xlpt.lab.tokenizer import fertility_report

        words = {name: [s.split(" ") for s in texts] for name, texts in self.test_sentences().items()}
        return fertility_report(self.load_tokenizer(), words)

    def label_words(self) -> dict:
        from xlpt.lab.corpus import TASKS
        from xlpt.lab.tokenizer import label_word_report

        definitions = {task: load_yaml((self.tasks_dir / f"{task}.yaml").read_text(encoding="utf-8"),
                                       str(self.tasks_dir / f"{task}.yaml"))
                       for task in TASKS}
        return label_word_report(self.load_tokenizer(), definitions)

    # -------------------------------------------------------------------------------------- together

    def run(self) -> dict:
        """Every stage, then the summary (written to lab.json and returned)."""
        manifest = self.text()
        tokenizer_summary = self.tokenizer()
        pretraining = self.pretraining()
        retrieval = self.retrieval()
        summary = {
            "lab": self.spec.name, "key": self.key, "folder": str(self.root),
            "data_dir": str(self.data_dir), "tasks_dir": str(self.tasks_dir),
            "pretrained": str(self.pretrained_dir), "control": str(self.control_dir),
            "tokenizer": tokenizer_summary, "fertility": self.fertility(), "label_word_pieces": self.label_words(),
            "pretraining": pretraining, "corpus": manifest["pretraining"], "retrieval": retrieval,
            "languages": {s.name: s.model_dump(mode="json") for s in self.spec.all_languages},
            "timings_s": self.timings, "reused": self.reused,
        }
        _write_json(self.root / "lab.json", summary)
        return summary
