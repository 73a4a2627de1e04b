"""The data layer: read, validate and derive the one-row-per-model dataset, and filter it for an analysis."""
