// attack: schedules 200,000 timers from one request (RSS grew without bound)
// expect: 200
// body: {"scheduled":10000,"error":"RangeError","afterClearing":1}
export function attack() {
  let scheduled = 0;
  let error = null;
  const ids = [];
  try {
    for (let i = 0; i < 200000; i++) {
      ids.push(setTimeout(() => {}, 60000));
      scheduled++;
    }
  } catch (e) {
    error = e.name;
  }
  // Cleared timers stop counting against the cap (and a try measured again starts afresh).
  for (const id of ids) clearTimeout(id);
  const probe = setTimeout(() => {}, 60000);
  clearTimeout(probe);
  return { body: { scheduled, error, afterClearing: typeof probe === "number" ? 1 : 0 } };
}
