// attack: grows the heap without bound
// expect: 500 EXTENSION_MEMORY_LIMIT
// next: fresh
export function attack() {
  const keep = [];
  for (;;) keep.push(new Array(100000).fill(1.5));
}
