"""The scan pipeline: sampling, extraction, classification in worker processes."""
