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

  // Keyboard: arrows move the cursor (Shift+arrows paint on the way), Space or Enter
  // paints a dab, or with the rectangle tool sets one corner and then fills to the other.
  const cursor = painter.querySelector("[data-mask-cursor]");
  const at = [canvas.width / 2, canvas.height / 2];
  let corner = null;
  const place = () => {
    const r = Number(size.value) / 2;
    cursor.style.left = `${(100 * (at[0] - r)) / canvas.width}%`;
    cursor.style.top = `${(100 * (at[1] - r)) / canvas.height}%`;
    cursor.style.width = `${(100 * 2 * r) / canvas.width}%`;
    cursor.style.height = `${(100 * 2 * r) / canvas.height}%`;
  };
  const MOVES = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  canvas.addEventListener("focus", () => { place(); cursor.hidden = false; });
  canvas.addEventListener("blur", () => { cursor.hidden = true; });
  canvas.addEventListener("keydown", (event) => {
    const move = MOVES[event.key];
    if (move) {
      event.preventDefault();
      const step = Math.max(1, Math.round(Math.max(canvas.width, canvas.height) / 32));
      const from = [...at];
      at[0] = Math.min(canvas.width, Math.max(0, at[0] + move[0] * step));
      at[1] = Math.min(canvas.height, Math.max(0, at[1] + move[1] * step));
      if (event.shiftKey && tool !== "rectangle") { line(from, at); report(); }
      place();
    } else if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      if (tool !== "rectangle") { dab(...at); report(); return; }
      if (!corner) { corner = [...at]; status.textContent = "Corner set: move to the opposite corner, then Enter."; return; }
      ctx.globalCompositeOperation = "source-over";
      ctx.fillStyle = PAINT;
      ctx.fillRect(Math.min(corner[0], at[0]), Math.min(corner[1], at[1]), Math.abs(at[0] - corner[0]), Math.abs(at[1] - corner[1]));
      corner = null;
      report();
    }
  });
  size.addEventListener("input", place);

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
