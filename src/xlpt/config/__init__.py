"""Run configuration: typed, bounded, documented sections (run.py), the pieces they are made of
(fields.py), reading files and overrides (loading.py; its one-line errors: xlpt/validation_errors.py) and the key listing
behind `xlpt train --help` (reference.py). Nothing here imports torch."""

from xlpt.config.loading import config_from_dict, load_config, migrate_legacy
from xlpt.config.run import DataConfig, ModelConfig, RunConfig, TrainConfig, learning_rate

__all__ = ["DataConfig", "ModelConfig", "RunConfig", "TrainConfig", "config_from_dict", "learning_rate",
           "load_config", "migrate_legacy"]
