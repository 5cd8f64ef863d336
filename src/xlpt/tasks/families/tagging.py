"""Word tagging (UDPOS, PAN-X) with a decoder: a linear head on one subword per word.

Sentences become windows of subwords (tasks.word_alignment); the head reads the word's last (or
first, or mean) subword (`method.word_repr`); every word of every sentence is predicted exactly once.
"""

from __future__ import annotations

from xlpt.models.heads import LinearHead
from xlpt.models.tagging import WordTagger
from xlpt.tasks.word_alignment import start_ids


class TaggingFamily:
    def __init__(self, info):
        self.info = info

    def build_model(self, task, cfg, backbone, tokenizer) -> WordTagger:
        head = LinearHead(backbone.hidden_size, task.num_labels, seed=cfg.train.seed)
        return WordTagger(backbone, head, len(start_ids(tokenizer)), getattr(cfg.method, "word_repr", "last"))

    def objective(self, task, cfg, tokenizer, train_examples, dev_examples, log):
        from xlpt.training.tagging_objective import TaggingObjective

        return TaggingObjective.from_examples(task, cfg, tokenizer, train_examples, dev_examples, log)

    def evaluate(self, task, model, tokenizer, cfg, examples, progress, desc, predictions_path=None):
        from xlpt.evaluation.tagging import evaluate_tagging

        tsv = predictions_path.with_suffix(".tsv") if predictions_path is not None else None
        return evaluate_tagging(task, model, tokenizer, cfg, examples, progress, desc, write_tsv=tsv)
