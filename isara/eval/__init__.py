"""Evaluation: how a method prompts, and the suites: one object per suite in <suite>.py, listed in
registry.py, with what they read (inputs.py) and how their metrics are declared (metrics.py)."""
