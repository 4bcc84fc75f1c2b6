// Starts and stops real `kiroku serve` processes for the Node.js client tests.
// The binary comes from KIROKU_BIN (set by CTest) or ../../build/kiroku.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const KIROKU_BIN = process.env.KIROKU_BIN ?? join(here, "..", "..", "build", "kiroku");

export function tempDataDir() {
  return mkdtempSync(join(tmpdir(), "kiroku-node-"));
}

// Servers still running. A test file that is cancelled (a timeout) is ended by the test
// runner's signal and never reaches its after() hooks: kill them on the way out.
const live = new Set();
function reapAll() {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
}
process.once("exit", reapAll);
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.once(sig, () => {
    reapAll();
    process.exit(128 + (sig === "SIGTERM" ? 15 : 2));
  });
}

// Starts a server on free ports. Resolves once it prints its ports.
// Returns { url, esdbUrl, httpUrl, port, httpPort, dataDir, proc, stop(), kill() }.
export async function startServer({ dataDir = tempDataDir(), extraArgs = [], keepData = false } = {}) {
  const proc = spawn(KIROKU_BIN, ["serve", "--data", dataDir, "--port", "0", "--http-port", "0", ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stderr.on("data", (d) => (err += d));
  const ports = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kiroku did not start: ${out}${err}`)), 20000);
    proc.stdout.on("data", (d) => {
      out += d;
      const g = /gRPC\s+[\d.]+:(\d+)/.exec(out);
      const h = /http:\/\/[\d.]+:(\d+)\//.exec(out);
      if (g && h) {
        clearTimeout(timer);
        resolve({ port: Number(g[1]), httpPort: Number(h[1]) });
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`kiroku exited with ${code}: ${out}${err}`));
    });
  });
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
  const server = {
    ...ports,
    dataDir,
    proc,
    url: `kurrentdb://127.0.0.1:${ports.port}?tls=false`,
    esdbUrl: `esdb://127.0.0.1:${ports.port}?tls=false`,
    httpUrl: `http://127.0.0.1:${ports.httpPort}`,
    output: () => out + err,
    // Clean stop (SIGTERM); resolves with the exit status.
    async stop({ removeData = !keepData } = {}) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const status = await exited;
      if (removeData) rmSync(dataDir, { recursive: true, force: true });
      return status;
    },
    // Crash (SIGKILL); the data directory is kept for a restart.
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      return exited;
    },
  };
  return server;
}

// A stream name unique to this run, so tests sharing a server never collide.
export function uniqueStream(prefix = "test") {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
