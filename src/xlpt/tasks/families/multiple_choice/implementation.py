"""The torch side of the multiple_choice family (see tasks/families/record.py FamilyImplementation)."""

from __future__ import annotations

from torch import nn

from xlpt.errors import ConfigError
from xlpt.tasks.families.multiple_choice import task_prompt
from xlpt.tasks.families.multiple_choice.encoding import encode_examples
from xlpt.tasks.word_alignment import start_ids


class MultipleChoiceFamily:
    def __init__(self, record):
        self.record = record

    def build_model(self, task, cfg, backbone, tokenizer):
        from xlpt.tasks.families.multiple_choice.model import ChoiceModel

        # No head: the LM head scores the choices. nn.Identity keeps TaskModel's `head` slot without parameters.
        return ChoiceModel(backbone, nn.Identity(), len(start_ids(tokenizer)))

    def encode(self, task, tokenizer, cfg, examples):
        return encode_examples(examples, task_prompt(task), tokenizer, task.labels, cfg.data.max_length)

    def objective(self, task, cfg, tokenizer, train_examples, dev_examples, log):
        from xlpt.training.choice_objective import ChoiceObjective

        train, report = self.encode(task, tokenizer, cfg, train_examples)
        dev, dev_report = self.encode(task, tokenizer, cfg, dev_examples)
        if report.truncated or dev_report.truncated:
            log(f"contexts cut on the left to {cfg.data.max_length} tokens: {report.truncated} train, "
                f"{dev_report.truncated} selection choices")
        return ChoiceObjective(task, train, dev, tokenizer.pad_token_id, cfg.train.eval_batch_size)

    def evaluate(self, task, model, tokenizer, cfg, examples, progress, desc, predictions_path=None):
        from xlpt.evaluation.loglikelihood import check_plain_head
        from xlpt.evaluation.multiple_choice import choice_logliks, metrics_and_records

        check_plain_head(model.backbone)
        items, report = self.encode(task, tokenizer, cfg, examples)
        scores = choice_logliks(model, items, tokenizer.pad_token_id, cfg.train.eval_batch_size,
                                cfg.train.eval_batch_tokens, progress, desc)
        metrics, records = metrics_and_records(task, examples, items, scores)
        return {**metrics, "truncated": report.truncated}, records

    def predict(self, task, model, tokenizer, cfg, examples, progress):
        _, records = self.evaluate(task, model, tokenizer, cfg, examples, progress, "predict")
        return [record["pred"] for record in records], {}

    def zero_shot(self, task, model, tokenizer, cfg, examples, progress, desc, token_budget: int | None = None,
                  **options):
        """The task's own prompt scored by the untrained LM, token for token as lm-eval scores it.
        `token_budget`: padded tokens per forward (the benchmark's knob); the classification options (prefix
        token, delimiter, truncation, ...) do not apply, since the task YAML's prompt says all of that."""
        from xlpt.evaluation.multiple_choice import metrics_and_records, zero_shot_logliks

        if options:
            raise ConfigError(f"zero-shot option(s) {', '.join(sorted(options))} do not apply to multiple_choice task "
                              f"{task.name}: its prompt (context, choices, delimiter) is the task YAML's `prompt:`")
        if not examples:
            raise ConfigError(f"{desc}: no {task.name} examples to score")
        items, report = self.encode(task, tokenizer, cfg, examples)
        budget = token_budget or cfg.train.eval_batch_size * cfg.data.max_length
        scores = zero_shot_logliks(getattr(model, "backbone", model), items, budget, tokenizer.pad_token_id or 0,
                                   progress, desc)
        metrics, records = metrics_and_records(task, examples, items, scores)
        return {**metrics, "truncated": report.truncated, "scoring": {"prompt": "task prompt (lm-eval's)"}}, records
