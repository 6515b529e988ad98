"""Hosted image models: remote providers behind one small interface.

A tier runs on a hosted model when its model spec reads ``hosted:<provider>:<model>``
(for example ``LINEAGE_MODEL_FINAL=hosted:openai:gpt-image-1``). `provider.py` holds the
interface, the settings and the errors; `openai_images.py` speaks the OpenAI-compatible
images API; `step.py` turns a recipe into a request and the answer into a recorded step.
The API key comes from the environment and is never logged, raised or recorded.
"""
