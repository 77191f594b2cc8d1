// console.* for extension code: formats arguments like browsers do (roughly) and hands one
// line per call to op_console_write, which tags it with tenant and extension in Rust.
import { op_console_write } from "ext:core/ops";

function formatValue(value, seen) {
  switch (typeof value) {
    case "string":
      return value;
    case "undefined":
      return "undefined";
    case "function":
      return `[Function ${value.name || "(anonymous)"}]`;
    case "symbol":
    case "bigint":
      return String(value);
    case "object":
      if (value === null) return "null";
      if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
      if (seen.has(value)) return "[Circular]";
      seen.add(value);
      try {
        return JSON.stringify(value, (_k, v) => {
          if (typeof v === "bigint") return `${v}n`;
          if (typeof v === "object" && v !== null && v !== value) {
            if (seen.has(v)) return "[Circular]";
            seen.add(v);
          }
          return v;
        }) ?? String(value);
      } catch {
        return String(value);
      }
    default:
      return String(value);
  }
}

function format(args) {
  const parts = [];
  for (let i = 0; i < args.length; i++) parts.push(formatValue(args[i], new Set()));
  return parts.join(" ");
}

const write = (level) => (...args) => op_console_write(level, format(args));

const console = {
  debug: write(0),
  log: write(1),
  info: write(1),
  warn: write(2),
  error: write(3),
};

Object.defineProperty(globalThis, "console", {
  value: Object.freeze(console),
  writable: false,
  enumerable: false,
  configurable: false,
});
