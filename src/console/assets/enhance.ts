/**
 * The console's only script: small islands on pages that work fully without it.
 * - `[data-copy=<id>]` buttons (hidden until this runs) copy a one-time secret;
 * - `select[data-autosubmit]` re-runs its filter form when changed;
 * - `[data-live=<url>]` regions re-fetch themselves while they hold `[data-pending]` items
 *   (the provisioning timeline), swapping in the region of the same id from the fresh page;
 * - `[data-fragment-field=<name>]` (the invitation page) takes `<name>` from the URL's fragment
 *   (`#token=…`, which no server sees) into its input, hides itself and drops the fragment
 *   from the address bar and history.
 * Kept as a string module, like the stylesheet, and served from `/console/assets/`.
 */
export const SCRIPT = `
(() => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        button.textContent = "Copied";
      } catch {
        button.textContent = "Select and copy it by hand";
      }
    });
  }

  const fragment = new URLSearchParams(location.hash.slice(1));
  for (const field of document.querySelectorAll("[data-fragment-field]")) {
    const value = fragment.get(field.dataset.fragmentField);
    const input = field.querySelector("input");
    if (!value || !input) continue;
    input.value = value;
    field.hidden = true;
    history.replaceState(null, "", location.pathname + location.search);
  }

  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form && select.form.requestSubmit());
  }

  const POLL_MS = 2000;
  const MAX_POLLS = 150;
  for (const region of document.querySelectorAll("[data-live]")) {
    let polls = 0;
    const refresh = async () => {
      if (!region.querySelector("[data-pending]") || ++polls > MAX_POLLS) return;
      try {
        const res = await fetch(region.dataset.live, { headers: { accept: "text/html" }, credentials: "same-origin" });
        if (res.ok) {
          const page = new DOMParser().parseFromString(await res.text(), "text/html");
          const fresh = page.getElementById(region.id);
          if (fresh) region.replaceChildren(...fresh.childNodes);
        }
      } finally {
        setTimeout(refresh, POLL_MS);
      }
    };
    setTimeout(refresh, POLL_MS);
  }
})();
`;
