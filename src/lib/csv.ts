/** CSV as RFC 4180 writes it: CRLF after every record, a field quoted only when it must be. */

export type CsvValue = string | number | null;

/** The header, then one record per row; null is an empty field. */
export function toCsv(header: readonly string[], rows: Iterable<readonly CsvValue[]>): string {
  const records = [header.map(field).join(",")];
  for (const row of rows) records.push(row.map(field).join(","));
  return `${records.join("\r\n")}\r\n`;
}

/** A field with a comma, a double quote or a line break is quoted, its quotes doubled. */
function field(value: CsvValue): string {
  if (value === null) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
