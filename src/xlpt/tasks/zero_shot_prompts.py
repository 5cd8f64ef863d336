"""Per-language in-context prompts for the zero-shot baseline, as data.

Format (XGLM paper / mGPT / lm-evaluation-harness): `premise + ", " + QUESTION + "? " + WORD + ", " + hypothesis`,
scored by the log-likelihood of the whole sequence; the label whose sequence is most likely wins.
Words are lm-evaluation-harness's (`lm_eval/tasks/xnli/utils.py`, `lm_eval/tasks/paws-x/_generate_config.py`);
the harness notes they were "translated word-by-word with Google Translate" and may differ from
XGLM's own (unpublished) prompts. Label order follows xlpt's label sets.
"""

from __future__ import annotations

# XNLI: question word, then words for entailment, neutral, contradiction.
XNLI = {
    "ar": ("صحيح", "نعم", "لذا", "رقم"),
    "bg": ("правилно", "да", "така", "не"),
    "de": ("richtig", "Ja", "Auch", "Nein"),
    "el": ("σωστός", "Ναί", "Έτσι", "όχι"),
    "en": ("right", "Yes", "Also", "No"),
    "es": ("correcto", "Sí", "Asi que", "No"),
    "fr": ("correct", "Oui", "Aussi", "Non"),
    "hi": ("सही", "हाँ", "इसलिए", "नहीं"),
    "ru": ("правильно", "Да", "Так", "Нет"),
    "sw": ("sahihi", "Ndiyo", "Hivyo", "Hapana"),
    "th": ("ถูกต้อง", "ใช่", "ดังนั้น", "ไม่"),
    "tr": ("doğru", "Evet", "Böylece", "Hayır"),
    "ur": ("صحیح", "جی ہاں", "اس لئے", "نہیں"),
    "vi": ("đúng", "Vâng", "Vì vậy", "Không"),
    "zh": ("正确", "是的", "所以", "不是的"),
}

# PAWS-X: question word, then words for not_paraphrase, paraphrase.
PAWSX = {
    "de": ("richtig", "Nein", "Ja"),
    "en": ("right", "No", "Yes"),
    "es": ("verdad", "No", "Sí"),
    "fr": ("n'est-ce pas", "No", "Oui"),
    "ja": ("ですね", "いいえ", "はい"),
    "ko": ("맞죠", "아니요", "예"),
    "zh": ("对吧", "不是", "是"),
}

PROMPTS = {"xnli": XNLI, "pawsx": PAWSX}


def fill_prompts(words: dict[str, tuple[str, ...]], lang: str, text_a: str, text_b: str) -> tuple[list[str], bool]:
    """One text per label (in label order) from a words table {lang: (question, word per label)}, and whether
    the language had its own words (else the table's English words are used)."""
    own = lang in words
    question, *label_words = words[lang if own else "en"]
    return [f"{text_a}, {question}? {word}, {text_b}" for word in label_words], own


def candidates(task: str, lang: str, text_a: str, text_b: str) -> tuple[list[str], bool]:
    """`fill_prompts` with this module's table for `task`."""
    return fill_prompts(PROMPTS[task], lang, text_a, text_b)
