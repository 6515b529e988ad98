// The Adjust tool's preview: while its sliders and crop fields change, the viewer's image
// shows the adjustment (CSS filters: brightness multiplies as the worker does; contrast and
// saturation are close, not exact) and the crop as an outlined box. The form still sends
// the numbers; the version it makes is the authority.
const SVG = "http://www.w3.org/2000/svg";

function setup(form) {
  const svg = document.querySelector("svg.viewer-svg");
  const image = svg && svg.querySelector("image");
  const status = form.querySelector("[data-adjust-status]");
  if (!image || !status) return;
  const value = (name) => form.elements[name].value;
  let box = null;

  const show = () => {
    const [b, c, s] = ["brightness", "contrast", "saturation"].map((n) => Number(value(n)));
    image.style.filter = `brightness(${b}) contrast(${c}) saturate(${s})`;
    const crop = ["crop_x", "crop_y", "crop_w", "crop_h"].map((n) => value(n));
    const cropping = crop.every((v) => v !== "") && Number(crop[2]) > 0 && Number(crop[3]) > 0;
    if (cropping) {
      if (!box) {
        box = document.createElementNS(SVG, "rect");
        box.setAttribute("class", "crop-preview");
        svg.appendChild(box);
      }
      ["x", "y", "width", "height"].forEach((attr, i) => box.setAttribute(attr, crop[i]));
    } else if (box) {
      box.remove();
      box = null;
    }
    const changed = [b, c, s].some((v) => v !== 1);
    status.textContent = changed || cropping
      ? `Preview on the image: brightness ${b}, contrast ${c}, saturation ${s}`
        + (cropping ? `; keeps ${crop[2]} × ${crop[3]} px from ${crop[0]}, ${crop[1]}.` : ".")
      : "Preview on the image: unchanged.";
  };
  const reset = () => {
    image.style.filter = "";
    if (box) { box.remove(); box = null; }
    status.textContent = "Preview on the image: unchanged.";
  };
  form.addEventListener("input", show);
  form.closest("details")?.addEventListener("toggle", (event) => {
    if (event.target.open) show(); else reset();
  });
}

export function startAdjustPreviews(root) {
  root.querySelectorAll("form[data-adjust-preview]").forEach(setup);
}
