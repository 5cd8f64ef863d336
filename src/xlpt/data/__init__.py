"""Data layer: typed examples, readers for every real file format, one loading API."""
