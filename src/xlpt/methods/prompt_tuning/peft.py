"""Prompt tuning's PEFT form: the soft prompt `prompt.weight` (n, d) <-> PEFT PROMPT_TUNING `prompt_embeddings`.

Space. PEFT builds `inputs_embeds` with the model's own embedding module and puts its virtual tokens in
front; xlpt feeds the same decoder the same kind of `inputs_embeds` (`Backbone.embed` equals what the
model's forward computes from ids, embed_scale included). Both hand their prompt vectors to the decoder as
they are, so the vectors are copied unchanged; only their placement can differ.

Placement. PEFT puts virtual tokens before *every* token. xlpt's default (`method.prompt_position=after_bos`)
puts the prompt after the tokenizer's start tokens (XGLM: `</s> P1..Pn text`). On a tokenizer that adds
start tokens that placement is refused unless the export converts it (`start_tokens_in_prompt`): the start
tokens' embeddings then become the first virtual tokens and the text is fed without its start tokens.
On import, an adapter's placement must match the run's (the manifest says how many leading virtual tokens
are start tokens; they are checked against this tokenizer and dropped).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from xlpt.errors import ConfigError
from xlpt.export.forms import KEY, copy_checked, decoder_sizes, start_token_ids, table_of

PEFT_TYPE = "PROMPT_TUNING"


@dataclass
class PromptForm:
    """A soft prompt as PEFT prompt tuning.

    `start_vectors` (k, d) are the embeddings of the tokenizer's start tokens when an `after_bos` prompt
    is converted: PEFT's virtual tokens are then `[start tokens][prompt]` and the text is fed without its
    start tokens, which reproduces xlpt's `</s> P1..Pn text` token for token and position for position."""

    vectors: torch.Tensor
    start_vectors: torch.Tensor | None = None
    peft_type = PEFT_TYPE
    covers = frozenset({"prompt.weight"})

    @property
    def virtual_start_tokens(self) -> int:
        return 0 if self.start_vectors is None else self.start_vectors.shape[0]

    @property
    def feeds_start_tokens(self) -> bool:
        """Whether the text reaches the adapter with the tokenizer's start tokens (its default)."""
        return self.start_vectors is None

    def weights(self) -> torch.Tensor:
        if self.start_vectors is None:
            return self.vectors
        return torch.cat([self.start_vectors, self.vectors])

    def config(self, lm):
        from peft import PromptTuningConfig, TaskType

        settings = decoder_sizes(lm)
        return PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=self.weights().shape[0],
                                  token_dim=settings["token_dim"], num_layers=settings["num_layers"],
                                  num_attention_heads=settings["num_attention_heads"], num_transformer_submodules=1)

    def write(self, peft_model) -> None:
        copy_checked(peft_model.prompt_encoder["default"].embedding.weight, self.weights(), "prompt_embeddings")

    def describe(self) -> str:
        extra = "" if self.start_vectors is None else \
            f" (the first {self.virtual_start_tokens} = the tokenizer's start tokens)"
        return f"PROMPT_TUNING, {self.weights().shape[0]} virtual tokens{extra}"


def form_of(model, method_cfg, tokenizer, start_tokens_in_prompt: bool = False) -> PromptForm:
    """The trained soft prompt as a PromptForm; ConfigError for an after_bos prompt not asked to convert."""
    vectors = model.prompt.weight.detach().cpu().clone()
    if model.insert_at == 0:  # placement start, or a tokenizer that adds no start token: PEFT's own layout
        return PromptForm(vectors)
    if not start_tokens_in_prompt:
        raise ConfigError(
            f"this run puts its prompt after the tokenizer's start token(s) (method.prompt_position=after_bos: "
            f"{tokenizer.convert_ids_to_tokens(start_token_ids(tokenizer))} P1..P{vectors.shape[0]} text), but PEFT "
            "puts virtual tokens before every token. Export with --start-tokens-in-prompt to make the start tokens the "
            "first virtual tokens (exact when the text is then fed without its start tokens: add_special_tokens=False, "
            "lm-eval add_bos_token=False), or train with method.prompt_position=start")
    with torch.no_grad():
        ids = torch.tensor(start_token_ids(tokenizer), device=model.prompt.weight.device)
        start = model.backbone.embed(ids).float().cpu()
    return PromptForm(vectors, start)


_PLACES = {"start": "before every token (PEFT's placement, method.prompt_position=start)",
           "after_bos": "after the tokenizer's start tokens (method.prompt_position=after_bos)"}


def load(model, method_cfg, tokenizer, config, weights: dict, manifest: dict | None) -> None:
    """Overwrite `model.prompt` with the adapter's vectors, after checking length, width and placement."""
    table = table_of(weights)
    start = manifest["input"]["virtual_start_tokens"] if manifest else 0
    width = model.prompt.weight.shape[1]
    if table.ndim != 2 or table.shape[1] != width:
        raise ConfigError(f"{KEY}: the adapter's vectors have shape {tuple(table.shape)}; this model's width is "
                          f"{width}")
    length = table.shape[0] - start
    if length != method_cfg.prompt_length:
        raise ConfigError(f"{KEY}: the adapter holds {length} prompt vectors; set method.prompt_length={length}")
    if model.start_tokens:  # placements differ only where the tokenizer adds start tokens
        adapter_place = "after_bos" if start else "start"
        run_place = "after_bos" if model.insert_at else "start"
        if adapter_place != run_place:
            raise ConfigError(f"{KEY}: the adapter's virtual tokens come {_PLACES[adapter_place]}, this run's prompt "
                              f"{_PLACES[run_place]}; set method.prompt_position={adapter_place} to start from it "
                              "exactly")
    if start:
        _check_start_vectors(model, tokenizer, table[:start], start)
    with torch.no_grad():
        model.prompt.weight.copy_(table[start:].to(model.prompt.weight.device))


def _check_start_vectors(model, tokenizer, vectors: torch.Tensor, start: int) -> None:
    """A converted adapter's leading virtual tokens must be this model's start-token embeddings, unchanged."""
    if start != model.start_tokens:
        raise ConfigError(f"{KEY}: the adapter starts with {start} start-token vectors; this tokenizer adds "
                          f"{model.start_tokens} start tokens")
    with torch.no_grad():
        expected = model.backbone.embed(torch.tensor(start_token_ids(tokenizer), device=model.prompt.weight.device))
    if not torch.allclose(vectors, expected.float().cpu(), atol=1e-6):
        raise ConfigError(f"{KEY}: the adapter's first {start} virtual token(s) are not this model's start-token "
                          "embeddings (trained further in PEFT, or made for another model)")
