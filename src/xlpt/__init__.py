"""xlpt: zero-shot cross-lingual transfer with decoder-only multilingual language models.

Soft prompt tuning vs full fine-tuning (and friends) on XNLI, PAWS-X, UDPOS and PAN-X,
trained on English and evaluated on every language the data has.
"""

__version__ = "0.1.0"
