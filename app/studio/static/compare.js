// Compare: switch modes, move the overlay's opacity or the wipe, all kept in the URL
// (history.replaceState), so a copied link reopens the same view. Keys: 1-4 modes,
// t flips the overlay between 0 and 100 %, left/right move the slider, s swaps.
export function startCompare(root) {
  const box = root.querySelector("[data-compare]");
  if (!box) return;
  const stage = box.querySelector("[data-compare-stage]");
  const paneB = stage.querySelector(".pane-b");
  const handle = stage.querySelector(".wipe-handle");
  const opacityInput = box.querySelector("[data-opacity-input]");
  const splitInput = box.querySelector("[data-split-input]");
  const state = { mode: box.dataset.mode, opacity: Number(box.dataset.opacity), split: Number(box.dataset.split) };

  function render() {
    box.dataset.mode = state.mode;
    stage.className = stage.className.replace(/\bmode-\S+/, `mode-${state.mode}`);
    paneB.style.opacity = state.mode === "overlay" ? String(state.opacity / 100) : "";
    paneB.style.clipPath = state.mode === "wipe" ? `inset(0 0 0 ${state.split}%)` : "";
    if (handle) handle.style.left = `${state.split}%`;
    opacityInput.value = state.opacity;
    splitInput.value = state.split;
    box.querySelector("[data-opacity-output]").textContent = `${state.opacity}%`;
    box.querySelector("[data-split-output]").textContent = `${state.split}%`;
    box.querySelectorAll("[data-mode-link]").forEach((link) => {
      const on = link.dataset.modeLink === state.mode;
      link.classList.toggle("active", on);
      if (on) link.setAttribute("aria-current", "true"); else link.removeAttribute("aria-current");
    });
    const url = new URL(window.location.href);
    for (const [key, value] of Object.entries(state)) url.searchParams.set(key, String(value));
    history.replaceState(null, "", url);
  }

  box.querySelectorAll("[data-mode-link]").forEach((link) => link.addEventListener("click", (event) => {
    event.preventDefault();
    state.mode = link.dataset.modeLink;
    render();
  }));
  opacityInput.addEventListener("input", () => { state.opacity = Number(opacityInput.value); render(); });
  splitInput.addEventListener("input", () => { state.split = Number(splitInput.value); render(); });

  let wiping = false;
  const wipeTo = (event) => {
    const rect = paneB.getBoundingClientRect();
    state.split = Math.round(Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1) * 100);
    render();
  };
  stage.addEventListener("pointerdown", (event) => {
    if (state.mode !== "wipe") return;
    wiping = true;
    stage.setPointerCapture(event.pointerId);
    wipeTo(event);
  });
  stage.addEventListener("pointermove", (event) => { if (wiping) wipeTo(event); });
  stage.addEventListener("pointerup", () => { wiping = false; });

  root.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target instanceof HTMLElement && event.target.matches("input:not([type=range]), textarea, select")) return;
    const modes = ["side", "overlay", "wipe", "difference"];
    if (["1", "2", "3", "4"].includes(event.key)) {
      state.mode = modes[Number(event.key) - 1];
    } else if (event.key === "t") {
      state.mode = "overlay";
      state.opacity = state.opacity === 100 ? 0 : 100;
    } else if (event.key === "s") {
      box.querySelector("[data-swap]").click();
      return;
    } else if ((event.key === "ArrowLeft" || event.key === "ArrowRight") && !(event.target instanceof HTMLInputElement)) {
      const step = event.key === "ArrowLeft" ? -5 : 5;
      if (state.mode === "overlay") state.opacity = Math.min(Math.max(state.opacity + step, 0), 100);
      else if (state.mode === "wipe") state.split = Math.min(Math.max(state.split + step, 0), 100);
      else return;
    } else {
      return;
    }
    event.preventDefault();
    render();
  });
  render();
}
