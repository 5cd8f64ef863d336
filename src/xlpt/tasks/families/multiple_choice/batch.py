"""Encoded multiple-choice examples -> the tensors ChoiceModel reads (groups run once, rows after them).

Keys (G groups, R rows = choices, T scored tokens):
    group_ids, group_mask (G, Lg)   the shared tokens of each group, right padded
    rest_ids, rest_mask (R, Lr)     each row's input tokens after its group's (its last token is only predicted)
    row_group (R,)                  the group of each row
    group_pick / rest_pick (n, 2)   (group or row, text position) whose hidden state predicts a scored token
    group_target / rest_target (n,) that token;  group_owner / rest_owner (n,): the row it counts for
    labels (B,)                     gold choice per example (-1: none); every example has `choices` rows
A group is an example's shared context; an example whose choices share no first token (a tokenizer without
a start token, one context per choice) gets one group per choice.
"""

from __future__ import annotations

import torch

from xlpt.tasks.collate import pad_right


def collate_choices(encoded, indices: list[int], pad_id: int) -> dict[str, torch.Tensor]:
    groups, rests, row_group, labels = [], [], [], []
    picks = {"group": ([], [], []), "rest": ([], [], [])}  # (positions, targets, owners)
    for i in indices:
        example = encoded[i]
        labels.append(example.label)
        if example.shared:
            groups.append(example.choices[0].tokens[:example.shared])
        for choice in example.choices:
            shared = example.shared or choice.start
            if not example.shared:
                groups.append(choice.tokens[:shared])  # no common first token: this choice is its own group
            row = len(rests)
            row_group.append(len(groups) - 1)
            rests.append(choice.tokens[shared:-1])
            for t in range(choice.start, len(choice.tokens)):
                kind, where = ("group", (len(groups) - 1, t - 1)) if t - 1 < shared else ("rest", (row, t - 1 - shared))
                positions, targets, owners = picks[kind]
                positions.append(where)
                targets.append(choice.tokens[t])
                owners.append(row)
    group_ids, group_mask = pad_right(groups, pad_id)
    width = max(len(r) for r in rests)
    rest_ids, rest_mask = pad_right([r or [pad_id] for r in rests], pad_id) if width else (
        torch.zeros((len(rests), 0), dtype=torch.long), torch.zeros((len(rests), 0), dtype=torch.long))
    if width:
        rest_mask[[i for i, r in enumerate(rests) if not r]] = 0
    batch = {"group_ids": group_ids, "group_mask": group_mask, "rest_ids": rest_ids, "rest_mask": rest_mask,
             "row_group": torch.tensor(row_group, dtype=torch.long),
             "labels": torch.tensor(labels, dtype=torch.long)}
    for kind, (positions, targets, owners) in picks.items():
        batch[f"{kind}_pick"] = torch.tensor(positions, dtype=torch.long).reshape(-1, 2)
        batch[f"{kind}_target"] = torch.tensor(targets, dtype=torch.long)
        batch[f"{kind}_owner"] = torch.tensor(owners, dtype=torch.long)
    return batch


def real_tokens(batch: dict) -> int:
    """Tokens the model reads for the batch (each group once, then each row's own)."""
    return int(batch["group_mask"].sum()) + int(batch["rest_mask"].sum())
