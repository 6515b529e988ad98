// The reviewer's hot loop on the keyboard: a approve, r request changes (write a note,
// Enter sends), left/right previous/next version, c compare with the version before,
// ? lists the keys. Keys typed into a field are the field's.
function typing(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || target.matches("input, textarea, select"));
}

function openHelp() {
  const dialog = document.querySelector("[data-keys-dialog]");
  if (dialog && !dialog.open) dialog.showModal();
}

export function startKeys(root) {
  root.querySelectorAll("[data-keys-help]").forEach((b) => b.addEventListener("click", openHelp));
  if (document.body.dataset.page !== "asset") return;
  const go = (url) => { if (url) window.location.assign(url); };

  root.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const form = document.querySelector("[data-decision-form]");
    const note = form && form.querySelector("[data-decision-note]");
    if (event.target === note && form.classList.contains("requesting")) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.querySelector("button[value=changes_requested]").click();
        form.classList.remove("requesting");
      } else if (event.key === "Escape") {
        form.classList.remove("requesting");
        note.blur();
      }
      return;
    }
    if (typing(event.target)) return;
    const page = document.body.dataset;
    switch (event.key) {
      case "a":
        if (form) { event.preventDefault(); form.querySelector("button[value=approved]").click(); }
        break;
      case "r":
        if (form && note) {
          event.preventDefault();
          form.classList.add("requesting");
          note.focus();
        }
        break;
      case "ArrowLeft":
        if (!event.shiftKey) { event.preventDefault(); go(page.prevUrl); }
        break;
      case "ArrowRight":
        if (!event.shiftKey) { event.preventDefault(); go(page.nextUrl); }
        break;
      case "c":
        event.preventDefault();
        go(page.compareUrl);
        break;
      case "?":
        event.preventDefault();
        openHelp();
        break;
      default:
    }
  });
}
