"""Evaluation: how a method prompts, the suites (declared in suites.py, run by run.py) and their
scoring."""
