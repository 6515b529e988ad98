"""Train the built-in model ("builtin:sketch") from procedural scenes; no downloads.

    python -m workers.builtin.train --out var/train --preset gpu --budget-seconds 480
    python -m workers.builtin.train --out var/train --preset cpu    # about 1 h, 2 cores

Three stages, each from the scenes that `workers.builtin.scenes` draws and captions:
1. the VAE learns to encode 256 px scenes as 32x32x4 latents (L1 + a small KL term);
2. the text encoder and the 4-channel UNet learn together to denoise those latents
   given the caption (epsilon prediction on Stable Diffusion's schedule, offset noise so
   flat dark and light backgrounds come out right, min-SNR weighting, 10% empty captions
   for classifier-free guidance, an exponential moving average of the weights);
3. a 9-channel inpainting UNet starts from the stage-2 UNet and learns to fill a masked
   region (an object's box, random boxes, borders for outpainting, everything) from the
   latents of the masked image, as Stable Diffusion's inpainting checkpoints do.

Writes into --out: vae, text_encoder, unet and unet_inpaint as safetensors (the UNets
in float16 to keep the repository small), train.json (every setting, the steps each
stage ran, losses, timings, library versions) and samples.png. `workers.builtin.package`
turns these into the diffusers folders Lineage loads. The run is seeded, but GPU kernels
are not bit-deterministic: a retrain gives a model of the same quality, not the same bytes.
With --budget-seconds the UNet stage stops early to keep the total inside the budget;
train.json records the steps it ran, and --unet-steps repeats them.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from workers.builtin import adherence, architecture, scenes


@dataclass
class Settings:
    """Everything that shapes a training run (recorded in train.json)."""

    seed: int = 20261204
    dataset: int = 300_000
    vae_steps: int = 3000
    vae_batch: int = 32
    vae_lr: float = 5e-4
    unet_steps: int = 24_000
    unet_batch: int = 256
    unet_lr: float = 4e-4
    inpaint_steps: int = 4000
    inpaint_batch: int = 128
    inpaint_lr: float = 2e-4
    warmup: int = 500
    ema_decay: float = 0.9995
    caption_dropout: float = 0.1
    offset_noise: float = 0.1
    min_snr_gamma: float = 5.0
    budget_seconds: float = 0.0  # 0: no budget
    amp: bool = False  # bfloat16 autocast on the CPU too (always on a GPU)
    resume: str = ""  # a finished run's folder: keep its VAE, continue its UNets
    dataset_chunk: int = 2048  # scenes rendered and encoded at once on a GPU
    inpaint_share: float = 0.18  # of the budget left after the VAE, kept for inpainting
    vae_share: float = 0.0  # of the budget the VAE may take (0: it runs its vae_steps)
    adherence_prompts: int = 120  # held-out prompts judged at the end (0: none)


# Measured on one H200 (2026-12-04): the UNet stage is launch-bound at small batches
# (about 12 steps/s at batch 256, 5 steps/s at batch 2048), so large batches pay. The VAE
# of the first runs (batch 32, 2000 steps) reconstructed only 22% of the held-out
# adherence scenes faithfully, which capped the whole model: it now trains on 4x the
# images for up to 30% of the budget, and train.json records its fidelity.
PRESETS: dict[str, dict[str, Any]] = {
    "gpu": {"vae_steps": 6000, "vae_batch": 128, "vae_lr": 1e-3, "vae_share": 0.3,
            "unet_batch": 1024, "unet_lr": 6e-4, "warmup": 200, "ema_decay": 0.998,
            "inpaint_batch": 512},
    "cpu": {"dataset": 24_000, "vae_steps": 700, "vae_batch": 8, "unet_steps": 4000,
            "unet_batch": 32, "inpaint_steps": 600, "inpaint_batch": 16, "warmup": 200,
            "ema_decay": 0.998},
    "smoke": {"dataset": 64, "vae_steps": 3, "vae_batch": 2, "unet_steps": 3, "unet_batch": 4,
              "inpaint_steps": 3, "inpaint_batch": 2, "warmup": 1, "ema_decay": 0.5,
              "adherence_prompts": 4},
}

SAMPLE_PROMPTS = (
    "a red circle in the centre on a blue background",
    "a small yellow square at the top left on a black background",
    "a red circle left of a blue square on a white background",
    "a large green star at sunset",
    "a white lighthouse by the sea",
    "a navy jacket on a white background",
    "a red jacket on a white background",
    "a pink heart at night",
    "a brown bottle on a table",
    "an orange triangle above a purple ring",
    "a purple stripe at the bottom on a yellow background",
    "a grey boat by the sea",
    "a green tree on grass",
    "a black star in the sky",
    "a large blue ring on the right on a grey background",
    "a red house on grass",
)


class Trainer:
    """Holds the modules, the device and the log of one run."""

    def __init__(self, settings: Settings, out: Path, device: str) -> None:
        self.s = settings
        self.out = out
        self.device = torch.device(device)
        self.started = time.monotonic()
        self.rng = np.random.default_rng(settings.seed)
        torch.manual_seed(settings.seed)
        self.cuda = self.device.type == "cuda"
        if self.cuda:
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            torch.backends.cudnn.benchmark = True
        self.tokenizer = architecture.build_tokenizer()
        self.text_encoder = architecture.build_text_encoder(len(self.tokenizer)).to(self.device)
        self.vae = architecture.build_vae().to(self.device)
        self.unet = architecture.build_unet().to(self.device)
        self.unet_inpaint: Any = None
        self.schedule = architecture.build_train_scheduler()
        self.alphas = self.schedule.alphas_cumprod.to(self.device)
        self.record: dict[str, Any] = {
            "settings": asdict(settings),
            "device": str(self.device),
            "device_name": torch.cuda.get_device_name(0) if self.cuda else platform.processor(),
            "versions": _versions(),
            "stages": {},
            "vae_norm_groups": architecture.VAE_NORM_GROUPS,
        }
        self.last_save = time.monotonic()
        self.empty_ids = self._tokens([""])
        if settings.resume:
            self._resume(Path(settings.resume))

    def _resume(self, run: Path) -> None:
        """Start from a finished run's weights: its VAE stays, its UNets train on."""
        from safetensors.torch import load_file

        earlier = json.loads((run / "train.json").read_text())
        groups = earlier.get("vae_norm_groups", 8)  # runs that did not record it used 8
        self.vae = architecture.build_vae(norm_groups=groups).to(self.device)
        self.record["vae_norm_groups"] = groups
        self.vae.config.scaling_factor = earlier["stages"]["vae"]["scaling_factor"]
        self.unet_inpaint = architecture.build_unet(in_channels=9).to(self.device)
        for module, name in ((self.vae, "vae"), (self.text_encoder, "text_encoder"),
                             (self.unet, "unet"), (self.unet_inpaint, "unet_inpaint")):
            state = load_file(str(run / f"{name}.safetensors"))
            module.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
        self.vae.eval().requires_grad_(False)
        self.record["resumed_from"] = earlier
        self.record["stages"]["vae"] = {**earlier["stages"]["vae"], "from_earlier_run": True}

    # --- helpers ------------------------------------------------------------------

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def log(self, message: str) -> None:
        line = f"[{self.elapsed():7.1f}s] {message}"
        print(line, flush=True)
        with open(self.out / "log.txt", "a") as handle:
            handle.write(line + "\n")

    def autocast(self) -> Any:
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16,
                              enabled=self.cuda or self.s.amp)

    def _tokens(self, captions: list[str]) -> torch.Tensor:
        return self.tokenizer(
            captions, padding="max_length", max_length=architecture.MAX_TOKENS,
            truncation=True, return_tensors="pt",
        ).input_ids.to(self.device)

    def render(self, batch: list[scenes.Scene]) -> torch.Tensor:
        """Scenes as (N, 3, 256, 256) in [-1, 1] on the device."""
        seed = int(self.rng.integers(0, 2**31))
        return scenes.render(batch, device=self.device, seed=seed) * 2 - 1

    # --- stage 1: VAE -------------------------------------------------------------

    def train_vae(self) -> None:
        s = self.s
        opt = torch.optim.AdamW(self.vae.parameters(), lr=s.vae_lr, weight_decay=0.0)
        seconds = s.budget_seconds * s.vae_share if s.budget_seconds and s.vae_share else 0.0
        started = self.elapsed()

        def progress(step: int) -> float:  # planned steps or time, whichever ends first
            spent = (self.elapsed() - started) / seconds if seconds else 0.0
            return max(step / s.vae_steps, spent)

        sched = _cosine(opt, progress, warmup=min(200, s.vae_steps // 10 + 1))
        self.vae.train()
        losses: list[float] = []
        step = 0
        for step in range(s.vae_steps):
            images = self.render(scenes.sample_scenes(self.rng, s.vae_batch))
            with self.autocast():
                posterior = self.vae.encode(images).latent_dist
                recon = self.vae.decode(posterior.sample()).sample
            recon = recon.float()
            kl = posterior.kl().mean() / (images[0].numel())
            loss = F.l1_loss(recon, images) + 0.5 * F.mse_loss(recon, images) + 1e-6 * kl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.vae.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.detach())
            if step % 250 == 0 or step == s.vae_steps - 1:
                self.log(f"vae step {step} loss {_mean(losses[-250:]):.4f}")
            if seconds and progress(step) >= 1.0:
                self.log(f"vae stage stopped by the time budget after {step + 1} steps")
                break
        self.vae.eval().requires_grad_(False)
        self.vae.config.scaling_factor = self._latent_scale()
        self.record["stages"]["vae"] = {
            "steps": step + 1, "planned_steps": s.vae_steps,
            "final_loss": float(_mean(losses[-100:])),
            "scaling_factor": self.vae.config.scaling_factor, "seconds": self.elapsed(),
            "fidelity": self.vae_fidelity(),
        }
        self.log(f"vae done; scaling factor {self.vae.config.scaling_factor:.5f}, "
                 f"fidelity {self.record['stages']['vae']['fidelity']}")

    @torch.no_grad()
    def vae_fidelity(self) -> dict[str, float]:
        """How the held-out adherence scenes fare after an encode and decode: the ceiling
        the VAE puts on the model's adherence (the scenes themselves pass about 98%)."""
        cases = adherence.held_out_prompts(self.s.adherence_prompts)
        if not cases:
            return {}
        images = scenes.render([case.scene() for case in cases], device=self.device) * 2 - 1
        with self.autocast():
            recon = self.vae.decode(self.vae.encode(images).latent_dist.mode()).sample
        return adherence.pass_rate(_uint8(recon.float()), cases)

    @torch.no_grad()
    def measure_adherence(self) -> dict[str, float]:
        """The held-out adherence pass rate of the trained pipeline (20 steps, guidance
        7.5, seed i for prompt i; bench/builtin_model.py measures the packaged model)."""
        cases = adherence.held_out_prompts(self.s.adherence_prompts)
        pipe = self.pipeline()
        images = []
        for i in range(0, len(cases), 40):
            chunk = cases[i:i + 40]
            gens = [torch.Generator("cpu").manual_seed(i + j) for j in range(len(chunk))]
            images.append(pipe([c.prompt for c in chunk], num_inference_steps=20,
                               guidance_scale=7.5, height=256, width=256, generator=gens,
                               output_type="np").images)
        pixels = (np.concatenate(images) * 255).round().astype(np.uint8)
        return adherence.pass_rate(pixels, cases)

    @torch.no_grad()
    def _latent_scale(self) -> float:
        samples = []
        for _ in range(8):
            images = self.render(scenes.sample_scenes(self.rng, max(self.s.vae_batch, 8)))
            samples.append(self.vae.encode(images).latent_dist.mode().float())
        return float(1.0 / torch.cat(samples).std())

    # --- the data set -------------------------------------------------------------

    @torch.no_grad()
    def build_dataset(self) -> None:
        """Draw, render and encode the UNet's training scenes once (latents stay put)."""
        s = self.s
        self.scenes = scenes.sample_scenes(self.rng, s.dataset)
        self.ids = torch.cat([self._tokens([sc.caption for sc in self.scenes[i:i + 4096]])
                              for i in range(0, s.dataset, 4096)])
        chunk = s.dataset_chunk if self.cuda else 16
        latents = []
        for i in range(0, s.dataset, chunk):
            images = self.render(self.scenes[i:i + chunk])
            with self.autocast():
                mean = self.vae.encode(images).latent_dist.mode()
            latents.append((mean.float() * self.vae.config.scaling_factor).to(torch.float16))
        self.latents = torch.cat(latents)
        self.log(f"dataset: {s.dataset} scenes encoded, latents {tuple(self.latents.shape)}")

    # --- stage 2: text encoder + UNet ---------------------------------------------

    def noisy(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                    torch.Tensor]:
        """Noise `latents` at random timesteps; return (noisy, noise, timesteps, weights)."""
        n = latents.shape[0]
        noise = torch.randn_like(latents)
        noise += self.s.offset_noise * torch.randn(n, latents.shape[1], 1, 1,
                                                    device=self.device)
        t = torch.randint(0, self.schedule.config.num_train_timesteps, (n,), device=self.device)
        alpha = self.alphas[t].view(n, 1, 1, 1)
        noisy = alpha.sqrt() * latents + (1 - alpha).sqrt() * noise
        snr = alpha / (1 - alpha)
        weight = torch.clamp(snr, max=self.s.min_snr_gamma) / snr
        return noisy, noise, t, weight.view(n)

    def condition(self, ids: torch.Tensor) -> torch.Tensor:
        drop = torch.rand(ids.shape[0], device=self.device) < self.s.caption_dropout
        ids = torch.where(drop.view(-1, 1), self.empty_ids.expand_as(ids), ids)
        return self.text_encoder(ids)[0]

    def train_unet(self) -> None:
        s = self.s
        params = list(self.unet.parameters()) + list(self.text_encoder.parameters())
        opt = torch.optim.AdamW(params, lr=s.unet_lr, weight_decay=0.01, fused=self.cuda)
        sched = _warmup(opt, s.warmup)
        ema = Ema([self.unet, self.text_encoder], s.ema_decay)
        deadline = self._unet_deadline()
        self.unet.train()
        self.text_encoder.train()
        losses: list[float] = []
        step = 0
        for step in range(s.unet_steps):
            index = torch.randint(0, self.latents.shape[0], (s.unet_batch,), device=self.device)
            latents = self.latents[index].float()
            noisy, noise, t, weight = self.noisy(latents)
            with self.autocast():
                context = self.condition(self.ids[index])
                pred = self.unet(noisy, t, context).sample
            losses.append(_optimise(pred, noise, weight, opt, sched, ema, params))
            if step % 500 == 0:
                self.log(f"unet step {step} loss {_mean(losses[-500:]):.4f}")
            if step % 50 == 0 and self._checkpoint_due():
                with ema.swapped():
                    self.save(partial=f"unet step {step}")
            if deadline is not None and self.elapsed() > deadline:
                self.log(f"unet stage stopped by the time budget after {step + 1} steps")
                break
        ema.copy_to()
        self.unet.eval().requires_grad_(False)
        self.text_encoder.eval().requires_grad_(False)
        self.record["stages"]["unet"] = {
            "steps": step + 1, "planned_steps": s.unet_steps,
            "final_loss": float(_mean(losses[-500:])), "seconds": self.elapsed(),
        }
        self.save(partial="unet done")

    def _unet_deadline(self) -> float | None:
        if not self.s.budget_seconds:
            return None
        left = self.s.budget_seconds - self.elapsed()
        return self.elapsed() + left * (1 - self.s.inpaint_share) - 25  # saving, samples

    def _checkpoint_due(self) -> bool:
        return time.monotonic() - self.last_save > 60

    # --- stage 3: inpainting UNet -------------------------------------------------

    def train_inpaint(self) -> None:
        s = self.s
        if self.unet_inpaint is not None:  # resumed
            unet = self.unet_inpaint.requires_grad_(True)
        else:
            unet = self.inpaint_from_unet()
        self.unet_inpaint = unet
        opt = torch.optim.AdamW(unet.parameters(), lr=s.inpaint_lr, weight_decay=0.01,
                                fused=self.cuda)
        sched = _warmup(opt, min(s.warmup, 200))
        ema = Ema([unet], s.ema_decay)
        deadline = (s.budget_seconds - 20) if s.budget_seconds else None
        unet.train()
        losses: list[float] = []
        step = 0
        for step in range(s.inpaint_steps):
            batch = [self.scenes[int(i)] for i in self.rng.integers(0, len(self.scenes),
                                                                    s.inpaint_batch)]
            images = self.render(batch)
            masks, captions = inpaint_masks(batch, self.rng, self.device)
            with torch.no_grad(), self.autocast():
                latents = self.vae.encode(images).latent_dist.mode().float()
                masked = self.vae.encode(images * (masks < 0.5)).latent_dist.sample().float()
                context = self.text_encoder(self._tokens(captions))[0]
            scale = self.vae.config.scaling_factor
            latents, masked = latents * scale, masked * scale
            small = F.interpolate(masks, size=latents.shape[-2:])
            noisy, noise, t, weight = self.noisy(latents)
            drop = torch.rand(len(batch), device=self.device) < s.caption_dropout
            with torch.no_grad(), self.autocast():
                empty = self.text_encoder(self.empty_ids)[0]
            context = torch.where(drop.view(-1, 1, 1), empty.to(context.dtype), context)
            with self.autocast():
                pred = unet(torch.cat([noisy, small, masked], dim=1), t, context).sample
            losses.append(_optimise(pred, noise, weight, opt, sched, ema,
                                    list(unet.parameters())))
            if step % 250 == 0:
                self.log(f"inpaint step {step} loss {_mean(losses[-250:]):.4f}")
            if step % 25 == 0 and self._checkpoint_due():
                with ema.swapped():
                    self.save(partial=f"inpaint step {step}")
            if deadline is not None and self.elapsed() > deadline:
                self.log(f"inpaint stage stopped by the time budget after {step + 1} steps")
                break
        ema.copy_to()
        unet.eval().requires_grad_(False)
        self.record["stages"]["inpaint"] = {
            "steps": step + 1, "planned_steps": s.inpaint_steps,
            "final_loss": float(_mean(losses[-250:])), "seconds": self.elapsed(),
        }

    def inpaint_from_unet(self) -> Any:
        """A 9-channel UNet equal to the trained one, its extra input channels at zero."""
        unet = architecture.build_unet(in_channels=9).to(self.device)
        state = {k: v for k, v in self.unet.state_dict().items() if not k.startswith("conv_in.")}
        unet.load_state_dict(state, strict=False)
        with torch.no_grad():
            unet.conv_in.weight.zero_()
            unet.conv_in.weight[:, :4] = self.unet.conv_in.weight
            unet.conv_in.bias.copy_(self.unet.conv_in.bias)
        return unet

    # --- output -------------------------------------------------------------------

    def save(self, partial: str | None = None) -> None:
        from safetensors.torch import save_file

        def tensors(module: torch.nn.Module, half: bool) -> dict[str, torch.Tensor]:
            dtype = torch.float16 if half else torch.float32
            return {k: v.detach().to("cpu", dtype).contiguous()
                    for k, v in module.state_dict().items()}

        save_file(tensors(self.vae, False), str(self.out / "vae.safetensors"))
        save_file(tensors(self.text_encoder, False), str(self.out / "text_encoder.safetensors"))
        save_file(tensors(self.unet, True), str(self.out / "unet.safetensors"))
        if self.unet_inpaint is not None:
            save_file(tensors(self.unet_inpaint, True), str(self.out / "unet_inpaint.safetensors"))
        self.record["saved_at_seconds"] = self.elapsed()
        self.record["complete"] = partial is None
        self.record["saved_state"] = partial or "complete"
        self.record["vocab_size"] = len(self.tokenizer)
        (self.out / "train.json").write_text(json.dumps(self.record, indent=2) + "\n")
        self.last_save = time.monotonic()
        self.log(f"saved ({partial or 'complete'})")

    @torch.no_grad()
    def samples(self) -> None:
        """A contact sheet of SAMPLE_PROMPTS with the trained weights (samples.png)."""
        from PIL import Image

        pipe = self.pipeline()
        tiles = []
        for i, prompt in enumerate(SAMPLE_PROMPTS):
            gen = torch.Generator("cpu").manual_seed(i)
            tiles.append(pipe(prompt, num_inference_steps=20, guidance_scale=7.5,
                              height=256, width=256, generator=gen).images[0])
        sheet = Image.new("RGB", (256 * 4, 256 * 4))
        for i, tile in enumerate(tiles):
            sheet.paste(tile, ((i % 4) * 256, (i // 4) * 256))
        sheet.save(self.out / "samples.png")
        self.log("samples.png written")

    def pipeline(self) -> Any:
        from diffusers import StableDiffusionPipeline

        pipe = StableDiffusionPipeline(
            vae=self.vae, text_encoder=self.text_encoder, tokenizer=self.tokenizer,
            unet=self.unet, scheduler=architecture.build_sampler(), safety_checker=None,
            feature_extractor=None, requires_safety_checker=False,
        )
        pipe.set_progress_bar_config(disable=True)
        return pipe


def inpaint_masks(batch: list[scenes.Scene], rng: np.random.Generator,
                  device: torch.device) -> tuple[torch.Tensor, list[str]]:
    """Masks (N, 1, 256, 256; 1 = repaint) and the caption to train each with.

    45%: a box around one object, captioned with that object alone half of the time
    ("a yellow star"); 25%: one or two random boxes; 20%: borders (outpainting); 10%:
    everything (plain generation through the inpainting UNet).
    """
    size = scenes.SIZE
    masks = torch.zeros((len(batch), 1, size, size), device=device)
    captions = []
    for i, scene in enumerate(batch):
        kind = rng.random()
        caption = scene.caption
        if kind < 0.45 and scene.things:
            thing = scene.things[int(rng.integers(0, len(scene.things)))]
            grow = rng.uniform(1.2, 1.8)
            reach = thing.size * grow * (2.0 if thing.shape == "stripe" else 1.15)
            _box_mask(masks[i], thing.cx - reach, thing.cy - thing.size * grow * 1.15,
                      thing.cx + reach, thing.cy + thing.size * grow * 1.15)
            if rng.random() < 0.5:
                caption = scenes.thing_phrase(thing.colour, thing.shape, None)
        elif kind < 0.70:
            for _ in range(int(rng.integers(1, 3))):
                x0, y0 = rng.uniform(0, 0.7, 2)
                w, h = rng.uniform(0.15, 0.6, 2)
                _box_mask(masks[i], x0, y0, x0 + w, y0 + h)
        elif kind < 0.90:
            sides = rng.random(4) < 0.5
            if not sides.any():
                sides[int(rng.integers(0, 4))] = True
            widths = rng.uniform(0.1, 0.4, 4)
            left, top, right, bottom = (w if on else 0.0 for w, on in zip(widths, sides,
                                                                           strict=True))
            masks[i] = 1.0
            _box_mask(masks[i], left, top, 1 - right, 1 - bottom, value=0.0)
        else:
            masks[i] = 1.0
        captions.append(caption)
    return masks, captions


def _box_mask(mask: torch.Tensor, x0: float, y0: float, x1: float, y1: float,
              value: float = 1.0) -> None:
    size = mask.shape[-1]
    a, b = (max(0, min(size, round(v * size))) for v in (x0, x1))
    c, d = (max(0, min(size, round(v * size))) for v in (y0, y1))
    mask[:, c:d, a:b] = value


class Ema:
    """Exponential moving average of some modules' parameters (kept in float32)."""

    def __init__(self, modules: list[torch.nn.Module], decay: float) -> None:
        self.params = [p for m in modules for p in m.parameters()]
        self.shadow = [p.detach().clone().float() for p in self.params]
        self.decay = decay
        self.steps = 0

    @torch.no_grad()
    def update(self) -> None:
        self.steps += 1
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        torch._foreach_mul_(self.shadow, decay)
        torch._foreach_add_(self.shadow, [p.float() for p in self.params], alpha=1 - decay)

    @torch.no_grad()
    def copy_to(self) -> None:
        for p, s in zip(self.params, self.shadow, strict=True):
            p.copy_(s)

    def swapped(self) -> Any:
        ema = self

        class _Swap:
            def __enter__(self) -> None:
                self.saved = [p.detach().clone() for p in ema.params]
                ema.copy_to()

            def __exit__(self, *exc: object) -> None:
                with torch.no_grad():
                    for p, s in zip(ema.params, self.saved, strict=True):
                        p.copy_(s)

        return _Swap()


def _optimise(pred: torch.Tensor, noise: torch.Tensor, weight: torch.Tensor,
              opt: torch.optim.Optimizer, sched: Any, ema: Ema,
              params: list[torch.nn.Parameter]) -> torch.Tensor:
    """One optimiser step on the min-SNR-weighted noise-prediction loss; returns the loss."""
    per_sample = F.mse_loss(pred.float(), noise, reduction="none").mean(dim=(1, 2, 3))
    loss = (per_sample * weight).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    sched.step()
    ema.update()
    return loss.detach()


def _uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] as (N, H, W, 3) uint8 pixels."""
    pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).cpu().numpy()


def _mean(values: list[torch.Tensor]) -> float:
    return float(torch.stack(values).float().mean()) if values else float("nan")


def _warmup(opt: torch.optim.Optimizer, steps: int) -> Any:
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / max(steps, 1)))


def _cosine(opt: torch.optim.Optimizer, progress: Any, warmup: int) -> Any:
    """Linear warm-up, then cosine decay over `progress(step)` (0 to 1)."""
    def factor(i: int) -> float:
        if i < warmup:
            return (i + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress(i))))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _versions() -> dict[str, str]:
    import diffusers
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__,
            "diffusers": diffusers.__version__, "transformers": transformers.__version__,
            "numpy": np.__version__}


def train(settings: Settings, out: Path, device: str, samples: bool = True) -> dict[str, Any]:
    """Run all three stages into `out`; return the training record."""
    out.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(settings, out, device)
    trainer.log(f"training on {trainer.record['device_name']} with {asdict(settings)}")
    if not settings.resume:
        trainer.train_vae()
    trainer.build_dataset()
    trainer.train_unet()
    try:
        trainer.train_inpaint()
    except Exception as exc:  # keep the finished stages of a long run
        trainer.log(f"inpaint stage failed: {exc!r}")
        trainer.record["stages"]["inpaint"] = {"failed": repr(exc)}
        trainer.unet_inpaint = None
    trainer.record["total_seconds"] = trainer.elapsed()
    trainer.save()
    try:
        if settings.adherence_prompts:
            trainer.record["adherence"] = trainer.measure_adherence()
            trainer.log(f"held-out adherence {trainer.record['adherence']}")
            trainer.save()
    except Exception as exc:  # the weights are saved; the figure is a bonus
        trainer.log(f"adherence not measured: {exc!r}")
    if samples:
        trainer.samples()
    return trainer.record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the trained tensors")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="gpu")
    parser.add_argument("--device", default="auto", help="cuda, cpu or auto (default)")
    parser.add_argument("--no-samples", action="store_true", help="skip samples.png")
    for name, value in asdict(Settings()).items():
        kind = (lambda text: text.lower() in ("1", "true", "yes")) if isinstance(value, bool) \
            else type(value)
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None)
    args = parser.parse_args(argv)
    values = {**asdict(Settings()), **PRESETS[args.preset]}
    values.update({k: v for k, v in vars(args).items() if k in values and v is not None})
    device = args.device if args.device != "auto" else (
        "cuda" if torch.cuda.is_available() else "cpu")
    train(Settings(**values), args.out, device, samples=not args.no_samples)


if __name__ == "__main__":
    main()
