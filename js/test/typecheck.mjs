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
try {
  for (const template of ["endpoint", "page", "widget", "full"]) {
    const name = `ts-${template}`;
    const made = spawnSync(binaryPath(), ["new", name, "--template", template, "--ts"], { cwd: dir, encoding: "utf8" });
    const checked = made.status === 0 ? spawnSync(process.execPath, [tsc, "-p", join(dir, name)], { encoding: "utf8" }) : made;
    if (checked.status === 0) {
      passed += 1;
      console.log(`ok    tsc: the ${template} template`);
    } else {
      failed += 1;
      console.log(`FAIL  tsc: the ${template} template\n${checked.stdout}${checked.stderr}`);
    }
  }
  // The samples written in TypeScript, against the SDK typings in js/sdk/.
  for (const sample of readdirSync(join(repoRoot, "samples"))) {
    const config = join(repoRoot, "samples", sample, "tsconfig.json");
    if (!existsSync(config)) continue;
    const checked = spawnSync(process.execPath, [tsc, "-p", config], { encoding: "utf8" });
    if (checked.status === 0) {
      passed += 1;
      console.log(`ok    tsc: the ${sample} sample`);
    } else {
      failed += 1;
      console.log(`FAIL  tsc: the ${sample} sample\n${checked.stdout}${checked.stderr}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
