"""`xlpt demo`: the whole pipeline on a tiny model and a generated sample, in minutes, on a laptop CPU."""
