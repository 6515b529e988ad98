// The inpaint mask painter: paint over the image with a brush (size slider), erase, or
// drag a rectangle; on submit the mask goes as a PNG the size of the source (white =
// repaint, black = keep), base64 in the form's "mask" field.
const PAINT = "#ff4d6d";

function setup(painter) {
  const form = painter.closest("form");
  const canvas = painter.querySelector("[data-mask-canvas]");
  const size = form.querySelector("[data-mask-size]");
  const status = form.querySelector("[data-mask-status]");
  const field = form.querySelector("[data-mask-field]");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  let tool = "brush";
  let drawing = null;

  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * (canvas.width / box.width),
      (event.clientY - box.top) * (canvas.height / box.height)];
  };
  const painted = () => {
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let count = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] >= 128) count += 1;
    return count;
  };
  const report = () => {
    const count = painted();
    const share = Math.round((100 * count) / (canvas.width * canvas.height));
    status.textContent = count ? `${share} % of the image will be repainted.` : "Nothing painted yet.";
  };
  const dab = (x, y) => {
    ctx.globalCompositeOperation = tool === "eraser" ? "destination-out" : "source-over";
    ctx.fillStyle = PAINT;
    ctx.beginPath();
    ctx.arc(x, y, Number(size.value) / 2, 0, Math.PI * 2);
    ctx.fill();
  };
  const line = (from, to) => {
    const steps = Math.max(1, Math.ceil(Math.hypot(to[0] - from[0], to[1] - from[1]) / 1.5));
    for (let i = 1; i <= steps; i += 1) {
      dab(from[0] + ((to[0] - from[0]) * i) / steps, from[1] + ((to[1] - from[1]) * i) / steps);
    }
  };

  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    const at = point(event);
    drawing = { start: at, last: at, saved: ctx.getImageData(0, 0, canvas.width, canvas.height) };
    if (tool !== "rectangle") dab(...at);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const at = point(event);
    if (tool === "rectangle") {
      ctx.putImageData(drawing.saved, 0, 0);
      ctx.globalCompositeOperation = "source-over";
      ctx.fillStyle = PAINT;
      const [x0, y0] = drawing.start;
      ctx.fillRect(Math.min(x0, at[0]), Math.min(y0, at[1]), Math.abs(at[0] - x0), Math.abs(at[1] - y0));
    } else {
      line(drawing.last, at);
    }
    drawing.last = at;
  });
  const end = () => { if (drawing) { drawing = null; report(); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  form.querySelectorAll("[data-mask-tool]").forEach((button) => {
    button.addEventListener("click", () => {
      tool = button.dataset.maskTool;
      form.querySelectorAll("[data-mask-tool]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    });
  });
  form.querySelector("[data-mask-clear]").addEventListener("click", () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    report();
  });

  form.addEventListener("submit", (event) => {
    if (!painted()) {
      event.preventDefault();
      event.stopPropagation();
      status.textContent = "Paint the part to repaint first.";
      canvas.focus();
      return;
    }
    const source = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const out = document.createElement("canvas");
    out.width = canvas.width;
    out.height = canvas.height;
    const outCtx = out.getContext("2d");
    const mask = outCtx.createImageData(canvas.width, canvas.height);
    for (let i = 0; i < source.data.length; i += 4) {
      const on = source.data[i + 3] >= 128 ? 255 : 0;
      mask.data[i] = on; mask.data[i + 1] = on; mask.data[i + 2] = on; mask.data[i + 3] = 255;
    }
    outCtx.putImageData(mask, 0, 0);
    field.value = out.toDataURL("image/png").split(",")[1];
  });
}

export function startMaskPainters(root) {
  root.querySelectorAll("[data-mask-painter]").forEach(setup);
  // Sliders of the edit forms show their value in the <output> beside them.
  root.querySelectorAll("input[data-range-value]").forEach((input) => {
    const output = input.parentElement.querySelector(`output[for="${input.id}"]`);
    if (output) input.addEventListener("input", () => { output.value = input.value; });
  });
}
