"""Methods decide which parameters change. Each is a small module with `prepare(task_model, cfg, tokenizer)`,
registered explicitly here (PEFT style): the registry is the list of what exists."""

from xlpt.methods import full_finetune, head_only, lora, prefix_tuning, prompt_tuning, zero_shot

METHODS = {
    "prompt_tuning": prompt_tuning.prepare,
    "prefix_tuning": prefix_tuning.prepare,
    "lora": lora.prepare,
    "full_finetune": full_finetune.prepare,
    "head_only": head_only.prepare,
    "zero_shot": zero_shot.prepare,
}

# Methods that add a soft prompt to the input (their results carry prompt_length / prompt_init).
PROMPT_METHODS = {"prompt_tuning", "prefix_tuning"}
