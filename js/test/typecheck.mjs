//! Type-checks what authors get: every `alga-ext new --ts` template as generated, against the SDK typings it copies in, and every sample with a tsconfig.json (tsc from js/node_modules). Prints `N passed, N failed`.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binaryPath, repoRoot } from "./support.mjs";

const tsc = join(repoRoot, "js/node_modules/typescript/bin/tsc");
const dir = mkdtempSync(join(tmpdir(), "alga-typecheck-"));
let passed = 0;
let failed = 0;

/** Counts and prints one check from the finished process that made it. */
function report(what, run) {
  if (run.status === 0) {
    passed += 1;
    console.log(`ok    tsc: ${what}`);
  } else {
    failed += 1;
    console.log(`FAIL  tsc: ${what}\n${run.stdout}${run.stderr}`);
  }
}

const typecheck = (project) => spawnSync(process.execPath, [tsc, "-p", project], { encoding: "utf8" });

try {
  for (const template of ["endpoint", "page", "widget", "full"]) {
    const name = `ts-${template}`;
    const made = spawnSync(binaryPath(), ["new", name, "--template", template, "--ts"], { cwd: dir, encoding: "utf8" });
    report(`the ${template} template`, made.status === 0 ? typecheck(join(dir, name)) : made);
  }
  // The samples written in TypeScript, against the SDK typings in js/sdk/.
  for (const sample of readdirSync(join(repoRoot, "samples"))) {
    const config = join(repoRoot, "samples", sample, "tsconfig.json");
    if (existsSync(config)) report(`the ${sample} sample`, typecheck(config));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
