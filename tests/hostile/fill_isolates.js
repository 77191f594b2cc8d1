// attack: one tenant warms five extensions at once to fill every isolate slot and evict other tenants' warm isolates (its share is 3 here: the rest are refused or evict its own)
// expect: any
// copies: 5
export function attack() {
  return "warm";
}
