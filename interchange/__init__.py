"""Interchange with other tools: reading the generation metadata other tools write into
PNGs (AUTOMATIC1111, ComfyUI, InvokeAI), and writing what they read: a version's
provenance as W3C PROV, an export with embedded parameters and a signed C2PA manifest.
Built on the write side's folds (commands/); the domain's decisions do not live here."""
