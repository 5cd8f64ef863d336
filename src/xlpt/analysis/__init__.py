"""Analyses relating cross-lingual transfer to the tokenizer and to XGLM's pretraining data."""

from xlpt.analysis.pretraining import PretrainingShare, pretraining_languages, pretraining_share
from xlpt.analysis.subwords import SubwordCounts, count_subwords, subwords_per_word, summarize
from xlpt.analysis.tokenization import language_stats, tokenization_stats

__all__ = [
    "PretrainingShare", "SubwordCounts", "count_subwords", "language_stats", "pretraining_languages",
    "pretraining_share", "subwords_per_word", "summarize", "tokenization_stats",
]
