"""An import-first start-up, common in worker templates: ``import runpod`` first, the model
loaded at import, then ``runpod.serverless.start``: everything one after another.

The model is the folder in ``BENCH_MODEL_PATH`` (the same one the worker loads), so a
cold start of this file and of ``python -m worker`` differ only in what is imported
when.
"""

import os
import time

import runpod  # noqa: E402  (imported first, as many worker templates do)
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

start = time.time()
MODEL = os.environ["BENCH_MODEL_PATH"]
tokenizer = AutoTokenizer.from_pretrained(MODEL)
model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32)
print(f"Model loaded in {time.time() - start:.2f}s", flush=True)


def handler(job):
    ids = tokenizer(job["input"]["prompt"], return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=job["input"].get("max_tokens", 8), do_sample=False,
                             pad_token_id=tokenizer.pad_token_id)
    return {"text": tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
