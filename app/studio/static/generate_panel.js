// The generate panel: picking a template loads its variables at once (without this
// module the "Use template" button does it), and typing a seed makes it the fixed one.
export function startGeneratePanel(root) {
  root.querySelectorAll("form[data-template-pick]").forEach((form) => {
    const button = form.querySelector("[data-template-pick-button]");
    if (button) button.hidden = true;
    form.querySelector("select[name=template]").addEventListener("change", () => form.requestSubmit());
  });
  root.querySelectorAll(".seed-row").forEach((row) => {
    const number = row.querySelector("input[name=seed]");
    const fixed = row.querySelector("input[name=seed_mode][value=fixed]");
    const random = row.querySelector("input[name=seed_mode][value=random]");
    number.addEventListener("input", () => { if (number.value !== "") fixed.checked = true; });
    random.addEventListener("change", () => { if (random.checked) number.value = ""; });
  });
}
