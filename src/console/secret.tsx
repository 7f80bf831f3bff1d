import type { FC } from "hono/jsx";

/** A one-time secret with a copy button (revealed by the script; selecting by hand always works). */
export const Secret: FC<{ id: string; label: string; value: string }> = ({ id, label, value }) => (
  <div class="field">
    <strong>{label}</strong>
    <div class="secret">
      <code id={id} data-testid={id}>
        {value}
      </code>
      <button type="button" class="secondary" data-copy={id} aria-label={`Copy ${label}`} hidden>
        Copy
      </button>
    </div>
  </div>
);
