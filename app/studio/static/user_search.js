// "Add a person": as a name is typed, suggest the people GET /api/users?q= finds (the
// people the admin may see) in the field's list. Without this module the list holds the
// people of the admin's projects, and the name typed is still looked up on submit.
const WAIT_MS = 200;

function setup(input) {
  const list = document.getElementById(input.getAttribute("list"));
  if (!list) return;
  let timer = null;
  let asked = "";
  const fill = (people) => {
    const known = new Set([...list.options].map((option) => option.value));
    for (const person of people) {
      if (known.has(person.name)) continue;
      const option = document.createElement("option");
      option.value = person.name;
      list.appendChild(option);
      known.add(person.name);
    }
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const text = input.value.trim();
    if (text.length < 2 || text === asked) return;
    timer = setTimeout(async () => {
      asked = text;
      try {
        const response = await fetch(`/api/users?q=${encodeURIComponent(text)}&limit=20`,
          { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (response.ok) fill((await response.json()).items);
      } catch { /* suggestions only: the name is looked up on submit anyway */ }
    }, WAIT_MS);
  });
}

export function startUserSearch(root) {
  root.querySelectorAll("input[data-user-search]").forEach(setup);
}
