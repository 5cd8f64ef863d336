"""FLOP accounting: counts the Linear weights a token passes through, 6N for full FT and 4N frozen."""

from xlpt.models.loading import load_causal_lm
from xlpt.training.flops import matmul_params, train_flops_per_token


def test_matmul_params_match_the_xglm_layer_formula(tiny_model_dir):
    lm, _ = load_causal_lm(tiny_model_dir, device="cpu")
    c = lm.config
    per_layer = 4 * (c.d_model * c.d_model) + 2 * (c.d_model * c.ffn_dim)  # q k v out + fc1 fc2
    assert matmul_params(lm) == c.num_layers * per_layer
    assert train_flops_per_token(lm, True) == 6 * matmul_params(lm)
    assert train_flops_per_token(lm, False) == 4 * matmul_params(lm)
