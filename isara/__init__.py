"""isara: Iterative Self-Alignment with Retrieval-Augmented in-context learning."""

__version__ = "0.1.0"
