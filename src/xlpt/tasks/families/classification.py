"""The torch side of the classification families (one text: SIB-200; a text pair: XNLI, PAWS-X).

The template is filled with the example's fields and ends at the answer slot. The verbalizer
formulation (`head.formulation`) reads the label words' scores there (one token each: the LM head's
label rows; several tokens: summed log-probabilities, see models.heads); `linear_head` puts a fresh
linear layer on the last real token's hidden state. The torch-free rules are in families/verbalized.py.
"""

from __future__ import annotations

from xlpt.models.heads import LinearHead, MultiTokenVerbalizer, VerbalizerHead
from xlpt.models.task_model import SequenceClassifier
from xlpt.tasks.classification_encoding import encode_examples
from xlpt.tasks.templates import label_word_tokens, single_token_ids
from xlpt.tasks.word_alignment import start_ids


class ClassificationFamily:
    def __init__(self, record):
        self.record = record

    def build_model(self, task, cfg, backbone, tokenizer) -> SequenceClassifier:
        if cfg.head.formulation == "linear_head":
            head = LinearHead(backbone.hidden_size, task.num_labels, seed=cfg.train.seed)
        else:
            tokens = label_word_tokens(task.resolve_template(cfg.data.template), task.labels, tokenizer)
            single = single_token_ids(tokens)
            head = (VerbalizerHead(backbone, single) if single is not None
                    else MultiTokenVerbalizer(backbone, tokens, tokenizer.pad_token_id))
        return SequenceClassifier(backbone, head, len(start_ids(tokenizer)))

    def objective(self, task, cfg, tokenizer, train_examples, dev_examples, log):
        from xlpt.training.objectives import ClassificationObjective

        template = task.resolve_template(cfg.data.template)
        train_items, report = encode_examples(train_examples, template, tokenizer, task.labels, cfg.data.max_length)
        dev_items, dev_report = encode_examples(dev_examples, template, tokenizer, task.labels, cfg.data.max_length)
        if report.truncated or dev_report.truncated:
            log(f"truncated to {cfg.data.max_length} tokens: {report.truncated} train, {dev_report.truncated} "
                "selection examples")
        return ClassificationObjective(task, train_items, dev_items, tokenizer.pad_token_id, cfg.train.eval_batch_size)

    def evaluate(self, task, model, tokenizer, cfg, examples, progress, desc, predictions_path=None):
        from xlpt.evaluation.classification import evaluate_classification

        return evaluate_classification(task, model, tokenizer, cfg, examples, progress, desc)

    def predict(self, task, model, tokenizer, cfg, examples, progress):
        from xlpt.evaluation.classification import predict_classes

        template = task.resolve_template(cfg.data.template)
        items, report = encode_examples(examples, template, tokenizer, task.labels, cfg.data.max_length)
        indices = predict_classes(model, items, tokenizer.pad_token_id, cfg.train.eval_batch_size, progress)
        return [task.labels[i] for i in indices], {"truncated": report.truncated}

    def zero_shot(self, task, model, tokenizer, cfg, examples, progress, desc, **options):
        from xlpt.evaluation.zero_shot import score_label_prompts

        return score_label_prompts(model, tokenizer, cfg, task, examples, progress, desc, **options)
