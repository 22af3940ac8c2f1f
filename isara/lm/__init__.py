"""Language-model plumbing: loading causal LMs, the prompt layout and its parsing, tokenisation,
generation (engine: backend and workers; generation: bucketed HF batches; batching, stops,
partial: the batch plan, end-of-turn ids and the resumable log; vllm_engine). Training lives in
isara.train."""
