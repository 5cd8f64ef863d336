"""Evaluation: accuracy / macro-F1 for sentence-pair tasks, word accuracy for POS, entity F1 for NER.

`metrics` holds the scores (plain dicts, JSON-ready); `entities` holds the two entity-chunking rules
(strict IOB2 and the lenient conlleval/seqeval-default rule XTREME reports). Both are implemented
here rather than delegated to seqeval, which the tests use as an independent reference.
"""
