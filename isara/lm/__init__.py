"""Language-model plumbing: loading causal LMs, the prompt layout and its parsing, tokenisation,
batched generation and the Trainer settings fine-tunes share."""
