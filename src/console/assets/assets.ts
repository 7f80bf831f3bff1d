/**
 * The stylesheet and the script, under content-hashed names so browsers may cache them
 * for a year and still see every change at once.
 */
import { SCRIPT } from "./enhance";
import { STYLES } from "./styles";

interface Asset {
  path: string;
  body: string;
  type: string;
}

const asset = (name: string, ext: string, body: string, type: string): Asset => ({
  path: `/console/assets/${name}.${fnv1a(body)}.${ext}`,
  body,
  type,
});

export const STYLESHEET = asset("console", "css", STYLES, "text/css; charset=utf-8");
export const CLIENT_SCRIPT = asset("console", "js", SCRIPT, "text/javascript; charset=utf-8");

export const ASSETS: readonly Asset[] = [STYLESHEET, CLIENT_SCRIPT];

/** 32-bit FNV-1a: a cache-busting tag, not a security measure. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}
