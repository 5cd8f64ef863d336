"""Word-level tagging with a causal LM: one subword's hidden state per word -> a linear head -> tag scores.

Which subword represents a word (`method.word_repr`):
- last (default): in a causal model only the last subword has seen the whole word;
- first: the usual choice for bidirectional encoders (XTREME's mBERT/XLM-R); here it has seen only the
  word's first piece, which for SentencePiece vocabularies is often a bare `▁` (e.g. `▁` `.`);
- mean: the average over all of the word's subwords.

Word spans arrive as text positions (see tasks.word_alignment) and are mapped past the soft prompt with
`text_to_full_index`, so only the chosen subword(s) of real words are ever read: prompt positions,
padding and the other subwords cannot reach the scores.
"""

from __future__ import annotations

import torch

from xlpt.models.task_model import TaskModel

WORD_REPRS = ("last", "first", "mean")


class WordTagger(TaskModel):
    def __init__(self, backbone, head, start_tokens: int, word_repr: str = "last"):
        super().__init__(backbone, head, start_tokens)
        if word_repr not in WORD_REPRS:
            raise ValueError(f"word_repr={word_repr!r} is not one of {', '.join(WORD_REPRS)}")
        self.word_repr = word_repr

    def read_positions(self, word_start: torch.Tensor, word_end: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[first, last] positions (inclusive) read for each word, in the prompt-augmented sequence.

        A word's subwords are contiguous text positions after the start token, and the prompt is
        inserted before them, so they stay contiguous after mapping."""
        first = self.text_to_full_index(word_start)
        last = self.text_to_full_index(word_end - 1)
        if self.word_repr == "last":
            return last, last
        if self.word_repr == "first":
            return first, first
        return first, last

    def word_states(self, hidden: torch.Tensor, word_start: torch.Tensor, word_end: torch.Tensor) -> torch.Tensor:
        """(B, W, d) word representations from hidden states (B, T, d) and text spans (B, W)."""
        first, last = self.read_positions(word_start, word_end)
        if self.word_repr != "mean":
            index = last.unsqueeze(-1).expand(-1, -1, hidden.shape[-1])
            return hidden.gather(1, index)
        positions = torch.arange(hidden.shape[1], device=hidden.device)
        inside = (positions >= first.unsqueeze(-1)) & (positions <= last.unsqueeze(-1))  # (B, W, T)
        weights = inside.float() / inside.sum(-1, keepdim=True).clamp(min=1)
        return torch.einsum("bwt,btd->bwd", weights, hidden.float())

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, word_start: torch.Tensor,
                word_end: torch.Tensor) -> torch.Tensor:
        """Tag scores (B, W, num_tags) for the words whose text spans are [word_start, word_end)."""
        hidden = self.hidden(input_ids, attention_mask)
        return self.head(self.word_states(hidden, word_start, word_end))
