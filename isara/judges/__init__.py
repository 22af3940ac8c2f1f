"""Judges of model outputs (harm judges, pairwise preference judges) and their error against human labels."""
