// Tag records and their validation, kept apart from the HTTP handlers.

export const MAX_NAME = 40;

export function normalizeName(raw) {
  const name = String(raw ?? "").trim();
  if (name.length === 0 || name.length > MAX_NAME) {
    throw new RangeError(`tag names have 1 to ${MAX_NAME} characters`);
  }
  return name;
}

export function colorFor(name, palette) {
  const colors = {
    pastel: ["#fde2e4", "#e2ece9", "#dfe7fd", "#fff1e6"],
    vivid: ["#e63946", "#2a9d8f", "#457b9d", "#f4a261"],
    mono: ["#222", "#555", "#888", "#bbb"],
  }[palette] ?? ["#ccc"];
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return colors[hash % colors.length];
}
