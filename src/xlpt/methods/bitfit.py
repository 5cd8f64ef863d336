"""BitFit (Ben Zaken et al., 2022): only the bias terms (and the task head, if any) train."""
from typing import Literal

from xlpt.methods.base import Method, MethodConfig, biases


class BitFitConfig(MethodConfig):  # its own section: method.name=bitfit (no settings of its own)
    name: Literal["bitfit"] = "bitfit"


def prepare(task_model, cfg, tokenizer) -> None:
    for name, parameter in task_model.backbone.named_parameters():
        parameter.requires_grad_(name.endswith(".bias"))


METHOD = Method(name="bitfit", display_name="BitFit", config=BitFitConfig, prepare=prepare,
                default_learning_rate=1e-3, summary="bias terms only (+ the task head, if any); weights frozen",
                trained_parts="biases (+ the task head, if any)", planner_terms=biases)
