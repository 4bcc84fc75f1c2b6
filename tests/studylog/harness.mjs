// Real processes for the studylog end-to-end tests: a private `kiroku serve` with the
// studylog projections, and the `studylog` HTTP service on top of it. Nothing is mocked.
//
// Environment (set by run_tests.sh):
//   KIROKU_BIN, STUDYLOG_BIN, STUDYLOG_GEN_BIN  the three binaries
//   STUDYLOG_PROJECTIONS   the projections directory (examples/studylog/projections)
//   STUDYLOG_BACKEND       sqlite | postgresql
//   STUDYLOG_TEST_WORK     a scratch directory removed by run_tests.sh
//   STUDYLOG_TEST_PG_URL, STUDYLOG_TEST_PSQL   (postgresql) the private cluster and its psql
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const need = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run the suite through tests/studylog/run_tests.sh)`);
  return v;
};
export const KIROKU_BIN = () => need("KIROKU_BIN");
export const STUDYLOG_BIN = () => need("STUDYLOG_BIN");
export const STUDYLOG_GEN_BIN = () => need("STUDYLOG_GEN_BIN");
export const BACKEND = process.env.STUDYLOG_BACKEND ?? "sqlite";
const PROJECTIONS = process.env.STUDYLOG_PROJECTIONS ?? join(root, "examples", "studylog", "projections");
const WORK = process.env.STUDYLOG_TEST_WORK ?? mkdtempSync(join(tmpdir(), "studylog-e2e-"));

// ---------------------------------------------------------------------------------------
// Process bookkeeping. Every child is killed when this test file's process ends, however
// it ends: normally, by a failed assertion, or by the runner's signal after a timeout
// (which never reaches the after() hooks). The pids also go to WORK/pids so run_tests.sh
// can kill what is left if this process itself is killed with SIGKILL.
const live = new Set();
function reapAll() {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
}
process.once("exit", reapAll);
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  process.once(sig, () => {
    reapAll();
    process.exit(128 + (sig === "SIGTERM" ? 15 : sig === "SIGINT" ? 2 : 1));
  });
}
function track(proc, bin) {
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
  try {
    appendFileSync(join(WORK, "pids"), `${proc.pid} ${bin}\n`);
  } catch {
    // WORK may be gone when run outside run_tests.sh; the in-process reaper still works.
  }
}
try {
  appendFileSync(join(WORK, "pids"), `${process.pid} node\n`);
} catch {}

// Spawns `bin args`, tees stdout+stderr to LOG and to memory, resolves with the first match
// of `ready` (a regex on stdout) or rejects if the process exits or `timeoutMs` passes.
async function spawnReady(bin, args, { env, cwd, log, ready, timeoutMs = 30000, what }) {
  const proc = spawn(bin, args, { env: { ...process.env, ...env }, cwd, stdio: ["ignore", "pipe", "pipe"] });
  track(proc, bin);
  const logFile = createWriteStream(log, { flags: "a" });
  let out = "";
  let all = "";
  proc.stdout.on("data", (d) => {
    out += d;
    all += d;
    logFile.write(d);
  });
  proc.stderr.on("data", (d) => {
    all += d;
    logFile.write(d);
  });
  const exited = new Promise((res) =>
    proc.on("exit", (code, signal) => {
      logFile.end();
      res({ code, signal });
    }),
  );
  const match = await new Promise((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(`${what} did not become ready in ${timeoutMs} ms:\n${tail(all)}`)),
      timeoutMs,
    );
    const check = () => {
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m);
      }
    };
    proc.stdout.on("data", check);
    proc.on("exit", (code, signal) => {
      clearTimeout(timer);
      rej(new Error(`${what} exited (code ${code}, signal ${signal}) before it was ready:\n${tail(all)}`));
    });
  });
  return { proc, match, exited, output: () => all };
}

function tail(text, n = 40) {
  return text.split("\n").slice(-n).join("\n");
}

// Stops a child with SIGTERM and waits at most `ms` for it, then SIGKILLs it.
async function terminate(child, ms = 20000) {
  if (!child) return null;
  const { proc, exited } = child;
  if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
  let timer;
  const status = await Promise.race([exited, new Promise((res) => (timer = setTimeout(() => res(null), ms)))]);
  clearTimeout(timer);
  if (status === null) {
    proc.kill("SIGKILL");
    return { ...(await exited), timedOut: true };
  }
  return status;
}

// ---------------------------------------------------------------------------------------
// Read models: a SQLite file in the stack's directory, or a fresh database (C collation:
// the cluster is initialised with --locale=C) in the private PostgreSQL cluster.
function readModelFor(name, dir) {
  if (BACKEND === "sqlite") {
    mkdirSync(join(dir, "read"), { recursive: true });
    return `sqlite:${join(dir, "read", "studylog.db")}`;
  }
  if (BACKEND !== "postgresql") throw new Error(`unknown backend ${BACKEND}`);
  const base = new URL(need("STUDYLOG_TEST_PG_URL"));
  const db = `studylog_${name.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}_${process.pid}`;
  const psql = need("STUDYLOG_TEST_PSQL");
  const r = spawnSync(
    psql,
    [
      "-h",
      base.hostname,
      "-p",
      base.port,
      "-U",
      base.username || "postgres",
      "-d",
      "postgres",
      "-qAt",
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      `CREATE DATABASE ${db} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`,
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`cannot create database ${db}: ${r.stderr}${r.error ?? ""}`);
  base.pathname = `/${db}`;
  return base.toString();
}

// ---------------------------------------------------------------------------------------
// A stack: kiroku (with the studylog projections) + studylog, on one data directory and one
// read model, which survive stop()/start().
export async function createStack(name) {
  const dir = mkdtempSync(join(WORK, `${name}-`));
  const dataDir = join(dir, "data");
  const readModel = readModelFor(name, dir);
  let kiroku = null;
  let studylog = null;
  let starts = 0;
  const stack = {
    name,
    dir,
    dataDir,
    readModel,
    api: null, // http://127.0.0.1:PORT of studylog
    kirokuHttp: null, // kiroku's HTTP admin port
    esdbUrl: null,
    logs() {
      const read = (f) => {
        try {
          return tail(readFileSync(join(dir, f), "utf8"), 30);
        } catch {
          return "(none)";
        }
      };
      return `--- kiroku.log (tail)\n${read("kiroku.log")}\n--- studylog.log (tail)\n${read("studylog.log")}`;
    },
    async start() {
      starts += 1;
      const mark = `\n===== start #${starts} =====\n`;
      appendFileSync(join(dir, "kiroku.log"), mark);
      appendFileSync(join(dir, "studylog.log"), mark);
      kiroku = await spawnReady(
        KIROKU_BIN(),
        ["serve", "--data", dataDir, "--port", "0", "--http-port", "0", "--projections", PROJECTIONS],
        {
          env: { STUDYLOG_READ_MODEL: readModel },
          cwd: dir,
          log: join(dir, "kiroku.log"),
          ready: /gRPC\s+127\.0\.0\.1:(\d+)[\s\S]*HTTP\s+http:\/\/127\.0\.0\.1:(\d+)\//,
          what: "kiroku serve",
        },
      );
      const grpcPort = Number(kiroku.match[1]);
      stack.kirokuHttp = `http://127.0.0.1:${Number(kiroku.match[2])}`;
      stack.esdbUrl = `esdb://127.0.0.1:${grpcPort}?tls=false`;
      // The projections have created the read model before kiroku prints its ports; wait
      // until they report a state anyway, so the service never races their first start.
      await waitFor(
        async () => {
          const r = await fetch(`${stack.kirokuHttp}/projections`);
          const j = await r.json();
          return r.ok && Array.isArray(j.projections) && j.projections.length > 0 ? j : null;
        },
        { timeoutMs: 20000, what: "kiroku /projections", logs: stack.logs },
      );
      studylog = await spawnReady(
        STUDYLOG_BIN(),
        ["--kiroku", stack.esdbUrl, "--read-model", readModel, "--port", "0"],
        {
          cwd: dir,
          log: join(dir, "studylog.log"),
          ready: /studylog: listening on (http:\/\/127\.0\.0\.1:(\d+))/,
          what: "studylog",
        },
      );
      stack.api = studylog.match[1];
      return stack;
    },
    // SIGTERM to studylog, then to kiroku. Resolves with both exit statuses.
    async stop() {
      const s = await terminate(studylog);
      const k = await terminate(kiroku);
      studylog = null;
      kiroku = null;
      return { studylog: s, kiroku: k };
    },
    alive() {
      return {
        kiroku: !!kiroku && kiroku.proc.exitCode === null && kiroku.proc.signalCode === null,
        studylog: !!studylog && studylog.proc.exitCode === null && studylog.proc.signalCode === null,
      };
    },
  };
  await stack.start();
  return stack;
}

// ---------------------------------------------------------------------------------------
// HTTP. Every call returns { status, body (parsed JSON or undefined), text, ms }.
export async function http(base, method, path, body, { raw = false } = {}) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = raw ? body : JSON.stringify(body);
    init.headers["content-type"] = "application/json";
  }
  const t0 = performance.now();
  const r = await fetch(base + path, init);
  const text = await r.text();
  const ms = performance.now() - t0;
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: r.status, body: parsed, text, ms, contentType: r.headers.get("content-type") };
}

export function client(stack) {
  const c = {
    get: (path) => http(stack.api, "GET", path),
    post: (path, body, opts) => http(stack.api, "POST", path, body, opts),
    // Throwing variants for set-up steps: the expected status or an error with the body.
    async must(method, path, body, ...statuses) {
      const r = await http(stack.api, method, path, body);
      if (!statuses.includes(r.status)) {
        throw new Error(
          `${method} ${path} ${JSON.stringify(body)}: expected ${statuses.join("|")}, got ${r.status} ${r.text}`,
        );
      }
      return r.body;
    },
    register: (learner_id, name) => c.must("POST", "/learners", { learner_id, name }, 201),
    group: (group_id, name) => c.must("POST", "/groups", { group_id, name }, 201),
    join: (gid, learner_id) => c.must("POST", `/groups/${gid}/members`, { learner_id }, 201, 200),
    lesson: (lid, lesson) => c.must("POST", `/learners/${lid}/lessons`, lesson, 201, 200),
  };
  return c;
}

// Polls `fn` until it returns a truthy value; throws after `timeoutMs`.
export async function waitFor(fn, { timeoutMs = 5000, intervalMs = 10, what = "condition", logs } = {}) {
  const t0 = performance.now();
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return { value: v, ms: performance.now() - t0 };
      last = undefined;
    } catch (e) {
      if (e.fatal) throw e;
      last = e;
    }
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}` +
          (last ? `: ${last.message}` : "") +
          (logs ? `\n${logs()}` : ""),
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// Waits until every projection in kiroku has applied everything in the log (lag 0). A
// failed projection fails at once with its last error.
export async function waitCaughtUp(stack, timeoutMs = 60000) {
  return waitFor(
    async () => {
      const r = await fetch(`${stack.kirokuHttp}/projections`);
      const j = await r.json();
      for (const p of j.projections) {
        if (p.state === "failed")
          throw Object.assign(new Error(`projection ${p.name} failed: ${JSON.stringify(p.last_error)}`), {
            fatal: true,
          });
      }
      return j.projections.every((p) => p.lag_events === 0) ? j : null;
    },
    { timeoutMs, intervalMs: 20, what: "the projections to catch up", logs: stack.logs },
  );
}

// Raw events of a stream straight from kiroku's HTTP admin API (not through the service):
// the independent source the expectations are computed from.
export async function readStream(stack, name) {
  const out = [];
  for (let from = 0; ; ) {
    const r = await fetch(`${stack.kirokuHttp}/streams/${encodeURIComponent(name)}?from=${from}&count=10000`);
    if (r.status === 404) return out;
    if (!r.ok) throw new Error(`read ${name}: ${r.status} ${await r.text()}`);
    const j = await r.json();
    out.push(...j.events);
    if (j.events.length < 10000) return out;
    from = j.events.at(-1).revision + 1;
  }
}

// Runs studylog-gen against the stack's kiroku; resolves with its stdout.
export async function runGenerator(stack, args, timeoutMs = 120000) {
  const bin = STUDYLOG_GEN_BIN();
  const proc = spawn(bin, ["--target", stack.esdbUrl, ...args], { cwd: stack.dir, stdio: ["ignore", "pipe", "pipe"] });
  track(proc, bin);
  let out = "";
  let err = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (err += d));
  const status = await new Promise((res) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
    }, timeoutMs);
    proc.on("exit", (code, signal) => {
      clearTimeout(timer);
      res({ code, signal });
    });
  });
  if (status.code !== 0) {
    throw new Error(
      `studylog-gen ${args.join(" ")} failed (${JSON.stringify(status)}):\n${out}\n${tail(err.replace(/\r/g, "\n"))}`,
    );
  }
  return { stdout: out, stderr: err };
}
