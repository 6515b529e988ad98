// The asset page's viewer: zoom (wheel, + − 0, buttons) and pan (drag, Shift+arrows) by
// moving the SVG's viewBox, and marking a comment's region (drag a box, click a point,
// or with the keyboard: arrows move it, Shift+arrows resize it).
const MIN_ZOOM = 1;
const MAX_ZOOM = 32;

export function startViewer(root) {
  const viewer = root.querySelector("[data-viewer]");
  const svg = viewer && viewer.querySelector("svg");
  if (!svg) return;
  const width = Number(svg.dataset.width);
  const height = Number(svg.dataset.height);
  const level = root.querySelector("[data-zoom-level]");
  let zoom = 1;
  let cx = width / 2;
  let cy = height / 2;

  function apply() {
    const w = width / zoom;
    const h = height / zoom;
    cx = Math.min(Math.max(cx, w / 2), width - w / 2);
    cy = Math.min(Math.max(cy, h / 2), height - h / 2);
    svg.setAttribute("viewBox", `${cx - w / 2} ${cy - h / 2} ${w} ${h}`);
    const shown = svg.getBoundingClientRect().width && svg.getScreenCTM();
    const scale = shown ? shown.a : 1;
    viewer.classList.toggle("pixels", zoom > 1 && scale >= 3);
    if (level) level.textContent = zoom === 1 ? "Fit" : `${Math.round(scale * 100)}%`;
  }

  function zoomBy(factor, at) {
    const next = Math.min(Math.max(zoom * factor, MIN_ZOOM), MAX_ZOOM);
    if (at) {  // keep the point under the cursor where it is
      cx = at.x - (at.x - cx) * (zoom / next);
      cy = at.y - (at.y - cy) * (zoom / next);
    }
    zoom = next;
    apply();
  }

  function toImage(event) {
    const point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const mapped = point.matrixTransform(svg.getScreenCTM().inverse());
    return { x: Math.min(Math.max(mapped.x, 0), width), y: Math.min(Math.max(mapped.y, 0), height) };
  }

  root.querySelectorAll("[data-zoom]").forEach((button) => button.addEventListener("click", () => {
    const kind = button.dataset.zoom;
    if (kind === "fit") { zoom = 1; apply(); } else zoomBy(kind === "in" ? 1.5 : 1 / 1.5);
  }));
  viewer.addEventListener("wheel", (event) => {
    event.preventDefault();
    zoomBy(event.deltaY < 0 ? 1.2 : 1 / 1.2, toImage(event));
  }, { passive: false });

  // -- regions -------------------------------------------------------------------------
  const form = root.querySelector("[data-comment-form]");
  const toggle = root.querySelector("[data-mark-region]");
  const status = root.querySelector("[data-region-status]");
  let marking = false;
  let region = null;  // in image pixels

  function draftRect() { return svg.querySelector("[data-draft-region]"); }

  function showRegion() {
    const rect = draftRect();
    const fields = form ? form.querySelectorAll("[data-region-field]") : [];
    if (!region) {
      if (rect) ["x", "y", "width", "height"].forEach((a) => rect.setAttribute(a, "0"));
      fields.forEach((f) => { f.value = ""; });
      if (status) status.textContent = "";
      return;
    }
    const r = region;
    if (rect) {
      rect.setAttribute("x", r.x); rect.setAttribute("y", r.y);
      rect.setAttribute("width", r.w); rect.setAttribute("height", r.h);
    }
    const normal = { x: r.x / width, y: r.y / height, w: r.w / width, h: r.h / height };
    fields.forEach((f) => { f.value = normal[f.dataset.regionField].toFixed(5); });
    if (status) {
      status.textContent = `Region ${Math.round(normal.w * 100)}% × ${Math.round(normal.h * 100)}%`;
    }
  }

  function setMarking(on) {
    marking = on;
    viewer.classList.toggle("marking", on);
    if (toggle) toggle.setAttribute("aria-pressed", String(on));
    if (!on) { region = null; showRegion(); }
  }

  if (toggle) {
    toggle.addEventListener("click", (event) => {
      setMarking(!marking);
      if (marking && event.detail === 0) {  // started from the keyboard: a box to move
        region = { x: width * 0.35, y: height * 0.35, w: width * 0.3, h: height * 0.3 };
        showRegion();
        viewer.focus();
      }
    });
  }
  if (form) form.addEventListener("studio:posted", () => setMarking(false));

  // -- pointer: pan, or draw a region --------------------------------------------------
  let drag = null;
  viewer.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    viewer.setPointerCapture(event.pointerId);
    const start = toImage(event);
    drag = { start, x: event.clientX, y: event.clientY, cx, cy, moved: false };
    if (!marking) viewer.classList.add("panning");
  });
  viewer.addEventListener("pointermove", (event) => {
    if (!drag) return;
    if (Math.abs(event.clientX - drag.x) + Math.abs(event.clientY - drag.y) > 3) drag.moved = true;
    if (marking) {
      const now = toImage(event);
      region = { x: Math.min(drag.start.x, now.x), y: Math.min(drag.start.y, now.y),
        w: Math.abs(now.x - drag.start.x), h: Math.abs(now.y - drag.start.y) };
      showRegion();
    } else if (zoom > 1) {
      const scale = svg.getScreenCTM().a;
      cx = drag.cx - (event.clientX - drag.x) / scale;
      cy = drag.cy - (event.clientY - drag.y) / scale;
      apply();
    }
  });
  viewer.addEventListener("pointerup", () => {
    if (drag && marking && !drag.moved) {  // a click marks a point: a small box around it
      const side = Math.max(width, height) * 0.04;
      region = { x: Math.max(drag.start.x - side / 2, 0), y: Math.max(drag.start.y - side / 2, 0),
        w: Math.min(side, width), h: Math.min(side, height) };
      region.w = Math.min(region.w, width - region.x);
      region.h = Math.min(region.h, height - region.y);
      showRegion();
    }
    if (marking && region && (region.w < 1 || region.h < 1)) { region = null; showRegion(); }
    drag = null;
    viewer.classList.remove("panning");
  });

  // -- keyboard in the viewer ----------------------------------------------------------
  viewer.addEventListener("keydown", (event) => {
    const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (event.key === "+" || event.key === "=") { zoomBy(1.5); event.preventDefault(); }
    else if (event.key === "-") { zoomBy(1 / 1.5); event.preventDefault(); }
    else if (event.key === "0") { zoom = 1; apply(); event.preventDefault(); }
    else if (event.key in arrows && (event.shiftKey || (marking && region))) {
      const [dx, dy] = arrows[event.key];
      event.preventDefault();
      event.stopPropagation();
      if (marking && region) {
        const step = Math.max(width, height) * 0.02;
        if (event.shiftKey) {
          region.w = Math.min(Math.max(region.w + dx * step, 1), width - region.x);
          region.h = Math.min(Math.max(region.h + dy * step, 1), height - region.y);
        } else {
          region.x = Math.min(Math.max(region.x + dx * step, 0), width - region.w);
          region.y = Math.min(Math.max(region.y + dy * step, 0), height - region.h);
        }
        showRegion();
      } else {
        cx += (dx * width) / zoom / 10;
        cy += (dy * height) / zoom / 10;
        apply();
      }
    } else if (event.key === "Escape" && marking) { setMarking(false); }
  });

  // -- a comment's region lights up with it -----------------------------------------
  root.addEventListener("pointerover", (event) => {
    const comment = event.target.closest && event.target.closest("[data-comment-id]");
    svg.querySelectorAll(".region.highlight").forEach((g) => g.classList.remove("highlight"));
    if (comment) {
      const g = svg.querySelector(`.region[data-comment-id="${comment.dataset.commentId}"]`);
      if (g) g.classList.add("highlight");
    }
  });
  window.addEventListener("resize", apply);
  apply();
}
