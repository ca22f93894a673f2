"""The knowledge-base pipeline: read ``seed_data/``, validate everything, store a new version."""
