"""Zero-shot baseline: sequence log-likelihoods equal Hugging Face's own LM loss; prompts per language."""

import torch

from xlpt.evaluation.zero_shot import sequence_logprobs
from xlpt.models.backbone import Backbone
from xlpt.models.loading import load_causal_lm
from xlpt.tasks import get_task


def test_sequence_logprob_equals_hf_loss_and_ignores_padding(tiny_model_dir):
    lm, tokenizer = load_causal_lm(tiny_model_dir, device="cpu")
    lm.eval()
    texts = ["The cat sleeps, right? Yes, a cat sleeps.", "A man walks his dog in the park every morning, right? No, he runs."]
    sequences = [tokenizer(t).input_ids for t in texts]
    scores = sequence_logprobs(Backbone(lm), sequences, tokenizer.pad_token_id, batch_size=8)
    for ids, score in zip(sequences, scores):
        ids_t = torch.tensor([ids])
        with torch.no_grad():
            mean_nll = lm(input_ids=ids_t, labels=ids_t).loss  # HF shifts labels itself
        assert abs(score - (-mean_nll.item() * (len(ids) - 1))) < 1e-3


def test_candidates_follow_the_harness_format():
    options, own = get_task("xnli").zero_shot.candidates("de", {"text_a": "Er schläft", "text_b": "Er ist wach"})
    assert own and options == ["Er schläft, richtig? Ja, Er ist wach", "Er schläft, richtig? Auch, Er ist wach",
                               "Er schläft, richtig? Nein, Er ist wach"]
    options, own = get_task("pawsx").zero_shot.candidates("xx", {"text_a": "A", "text_b": "B"})  # unknown language falls back to English words
    assert not own and options == ["A, right? No, B", "A, right? Yes, B"]
