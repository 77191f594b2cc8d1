// attack: schedules 200,000 timers from one request (RSS grew without bound)
// expect: 200
// body: {"scheduled":10000,"error":"RangeError"}
export function attack() {
  let scheduled = 0;
  let error = null;
  try {
    for (let i = 0; i < 200000; i++) {
      setTimeout(() => {}, 60000);
      scheduled++;
    }
  } catch (e) {
    error = e.name;
  }
  return { body: { scheduled, error } };
}
