// attack: one tenant warms ten extensions at once to fill every isolate slot and evict other tenants' warm isolates (its share is 3 here: the rest are refused or evict its own)
// expect: any
// copies: 10
export function attack() {
  return "warm";
}
