// attack: begins a transaction from a timer after the response and never finishes it (held SQLite's write lock, or PostgreSQL connections, for minutes)
// expect: 200
// after: 600
// log-contains: TRANSACTION_OUTSIDE_CALL
export function attack(request, ctx) {
  setTimeout(() => {
    ctx.storage
      .transaction(async (tx) => {
        await tx.set("held", 1);
        await new Promise(() => {});
      })
      .catch((e) => console.log(`refused: ${e.code}`));
  }, 20);
  return "answered";
}
