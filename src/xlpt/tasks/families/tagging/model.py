"""The tagging family's torch side: a WordTagger (linear head on one subword per word), the tagging
objective, evaluation and prediction. Sentences become windows of subwords (tasks.word_alignment);
every word of every sentence is predicted exactly once."""

from __future__ import annotations

from xlpt.errors import ConfigError
from xlpt.models.heads import LinearHead
from xlpt.models.tagging import WordTagger
from xlpt.tasks.word_alignment import start_ids


class TaggingFamily:
    def __init__(self, record):
        self.record = record

    def build_model(self, task, cfg, backbone, tokenizer) -> WordTagger:
        head = LinearHead(backbone.hidden_size, task.num_labels, seed=cfg.train.seed)
        return WordTagger(backbone, head, len(start_ids(tokenizer)), cfg.head.word_repr)

    def objective(self, task, cfg, tokenizer, train_examples, dev_examples, log):
        from xlpt.training.tagging_objective import TaggingObjective

        return TaggingObjective.from_examples(task, cfg, tokenizer, train_examples, dev_examples, log)

    def evaluate(self, task, model, tokenizer, cfg, examples, progress, desc, predictions_path=None):
        from xlpt.evaluation.tagging import evaluate_tagging

        tsv = predictions_path.with_suffix(".tsv") if predictions_path is not None else None
        return evaluate_tagging(task, model, tokenizer, cfg, examples, progress, desc, write_tsv=tsv)

    def predict(self, task, model, tokenizer, cfg, examples, progress):
        from xlpt.evaluation.tagging import predict_sentences

        tags, counts = predict_sentences(task, model, tokenizer, cfg, examples, progress)
        return tags, {key: counts[key] for key in ("split_sentences", "placeholder_words", "clipped_words")}

    def zero_shot(self, task, model, tokenizer, cfg, examples, progress, desc):
        raise ConfigError(f"task {task.name} ({task.family}) has no zero-shot baseline: the in-context baseline "
                          "scores one text per label, and a tagging label belongs to each word")
