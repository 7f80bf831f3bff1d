/**
 * The comparison form of an email: Unicode NFKC (so full-width and compatibility characters
 * cannot pose as their ASCII twins) and lower case. Every lookup and the users table's
 * uniqueness rule use it; the address as typed is kept for display.
 */
export function normalizeEmail(email: string): string {
  return email.trim().normalize("NFKC").toLowerCase();
}
