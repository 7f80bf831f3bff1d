/** A table of rows under a header, or a line saying there are none. */
import type { Child, FC } from "hono/jsx";

/** `head`: the column titles; an empty title is an actions column (named for screen readers only). */
export const Table: FC<{ head: string[]; empty: string; children?: Child }> = ({ head, empty, children }) => {
  const rows = Array.isArray(children) ? children : children ? [children] : [];
  if (rows.length === 0) return <p class="muted">{empty}</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            {head.map((h) => (
              <th scope="col">{h || <span class="vh">Actions</span>}</th>
            ))}
          </tr>
        </thead>
        <tbody>{rows}</tbody>
      </table>
    </div>
  );
};
