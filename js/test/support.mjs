//! The browser suite's plumbing: a real `alga-ext serve` on a free port, bundles packed and installed, tokens, and the test host's static server.
import { spawn, spawnSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { createReadStream, existsSync, mkdtempSync, cpSync, openSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve, sep } from "node:path";

export const repoRoot = resolve(new URL("../..", import.meta.url).pathname);

/** The `alga-ext` binary: `ALGA_EXT_BIN`, else the debug build under the cargo target dir. */
export function binaryPath() {
  if (process.env.ALGA_EXT_BIN) return process.env.ALGA_EXT_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(repoRoot, "target");
  return join(target, "debug", "alga-ext");
}

export function freePort() {
  return new Promise((done, fail) => {
    const server = createNetServer();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** An HS256 token as `alga-ext token` mints it (tenant, sub, roles, exp). */
export function mintToken(secret, { tenant, user, roles }) {
  const b64 = (value) => Buffer.from(value).toString("base64url");
  const head = b64(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const claims = b64(JSON.stringify({ tenant, sub: user, roles, exp: Math.floor(Date.now() / 1000) + 3600 }));
  const signature = createHmac("sha256", secret).update(`${head}.${claims}`).digest("base64url");
  return `${head}.${claims}.${signature}`;
}

/** Starts `alga-ext serve` with a fresh data dir; answers `{ url, secret, dir, stop }`. */
export async function startRuntime({ hostOrigin }) {
  const binary = binaryPath();
  if (!existsSync(binary)) throw new Error(`no alga-ext binary at ${binary}: run \`cargo build -p alga-ext\` or set ALGA_EXT_BIN`);
  const dir = mkdtempSync(join(tmpdir(), "alga-browser-"));
  const port = await freePort();
  const secret = randomBytes(32).toString("hex");
  const log = openSync(join(dir, "serve.log"), "a");
  const child = spawn(
    binary,
    [
      "serve",
      "--listen", `127.0.0.1:${port}`,
      "--data-dir", dir,
      "--jwt-secret", secret,
      // Development mode serves the demo host shell at /demo, which the suite drives too.
      "--dev",
      "--cors-origins", hostOrigin,
      "--ui-frame-ancestors", `'self' ${hostOrigin}`,
    ],
    { stdio: ["ignore", log, log], env: { ...process.env, ALGA_EXT_LOG: "warn" } },
  );
  // However the runner ends (a failure, a closed pipe), the server does not outlive it.
  process.on("exit", () => child.exitCode === null && child.kill("SIGTERM"));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`alga-ext serve exited with ${child.exitCode}; see ${join(dir, "serve.log")}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch (_) {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`alga-ext serve did not answer /healthz within 60 s; see ${join(dir, "serve.log")}`);
    await new Promise((done) => setTimeout(done, 100));
  }
  // The data dir goes with the server, unless a failure should be looked into
  // (`ALGA_BROWSER_KEEP=1` keeps it, and its serve.log).
  const stop = () =>
    new Promise((done) => {
      if (child.exitCode !== null) return done();
      child.once("exit", done);
      child.kill("SIGTERM");
    }).then(() => {
      if (process.env.ALGA_BROWSER_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
    });
  return { url, secret, dir, stop };
}

function run(args, env) {
  const result = spawnSync(binaryPath(), args, { encoding: "utf8", env: { ...process.env, ...env } });
  if (result.status !== 0) throw new Error(`alga-ext ${args[0]} failed (${result.status}): ${result.stderr || result.stdout}`);
  return result.stdout;
}

/**
 * Packs `sourceDir` (copied first, with the Page SDK vendored into its `ui/` when asked) and
 * installs it enabled, as the README tells a tenant admin to.
 */
export function packAndInstall(runtime, adminToken, sourceDir, { vendorPageSdk = false } = {}) {
  let dir = sourceDir;
  if (vendorPageSdk) {
    dir = mkdtempSync(join(runtime.dir, "bundle-"));
    cpSync(sourceDir, dir, { recursive: true });
    cpSync(join(repoRoot, "js/page/alga-page.js"), join(dir, "ui/alga-page.js"));
  }
  const archive = join(runtime.dir, `${dir.split(sep).pop()}.zip`);
  run(["pack", dir, "-o", archive]);
  return run(["install", archive, "--url", runtime.url, "--token", adminToken, "--enable"]);
}

/** Packs `sourceDir` with `alga-ext pack` into `<runtime.dir>/<name>.zip` and answers the archive's path. */
export function packBundle(runtime, sourceDir, name = sourceDir.split(sep).pop()) {
  const archive = join(runtime.dir, `${name}.zip`);
  run(["pack", sourceDir, "-o", archive]);
  return archive;
}

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };

/** Serves the files under `js/` (the SDKs and the test host) on a port of its own. */
export function startStaticServer(port) {
  const root = join(repoRoot, "js");
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, "http://x").pathname));
    const file = join(root, path);
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404).end("not found");
      return;
    }
    // Readable from sandboxed frames (origin "null"), like the runtime's own UI assets.
    response.writeHead(200, {
      "content-type": TYPES[extname(file)] || "application/octet-stream",
      "cache-control": "no-store",
      "access-control-allow-origin": "*",
    });
    createReadStream(file).pipe(response);
  });
  return new Promise((done) => server.listen(port, "127.0.0.1", () => done(server)));
}
