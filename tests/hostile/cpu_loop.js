// attack: a busy loop in a handler
// expect: 500 EXTENSION_CPU_LIMIT
// next: fresh
export function attack() {
  for (;;) {}
}
