// Bad input and misbehaving clients over the wire, through the official KurrentDB Node.js
// client: the client gets an error, the server keeps serving, nothing acknowledged is lost
// (also across SIGKILL and SIGTERM restarts on the same data directory).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import {
  KurrentDBClient,
  jsonEvent,
  binaryEvent,
  START,
  MaxAppendSizeExceededError,
  StreamNotFoundError,
  WrongExpectedVersionError,
  streamNameFilter,
} from "@kurrent/kurrentdb-client";
import { startServer, uniqueStream, tempDataDir } from "./harness.mjs";
import { collect, rejection, sleep, PATHS } from "./append.test.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;

async function health(server) {
  return (await fetch(`${server.httpUrl}/health/live`)).status;
}

async function metric(server, name) {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

// The server still takes appends and reads from a fresh client, and says it is alive.
async function assertServing(server) {
  assert.equal(await health(server), 204);
  const c = KurrentDBClient.connectionString(server.url);
  try {
    const s = uniqueStream("alive");
    await c.appendToStream(s, jsonEvent({ type: "Alive", data: { ok: true } }));
    const events = await collect(c.readStream(s));
    assert.deepEqual(events.map((e) => e.event.data), [{ ok: true }]);
  } finally {
    await c.dispose();
  }
}

// Runs `code` (an ES module) in a child node process next to the test files, so it
// resolves the same client packages. Lines it prints go to `onLine`.
function child(code, args, onLine) {
  const proc = spawn(process.execPath, ["--input-type=module", "-e", code, ...args], {
    cwd: here,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let buf = "";
  let err = "";
  proc.stdout.on("data", (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line) onLine(JSON.parse(line));
    }
  });
  proc.stderr.on("data", (d) => (err += d));
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal, err })));
  return { proc, exited };
}

// Appends big multi-event batches (400 events of ~30 KiB, 12 MiB sent as hundreds of
// messages, so a kill often lands in the middle of one) in two concurrent lanes until
// killed; prints each acknowledged batch.
const APPENDER = `
import { KurrentDBClient, jsonEvent } from "@kurrent/kurrentdb-client";
const [url, stream, mode] = process.argv.slice(1);
const client = KurrentDBClient.connectionString(url);
const extra = mode === "Append" ? { credentials: { username: "admin", password: "changeit" } } : {};
const pad = "x".repeat(30000);
let next = 0;
async function lane() {
  for (;;) {
    const b = next++;
    const events = Array.from({ length: 400 }, (_, k) => jsonEvent({ type: "Chunk", data: { b, k, pad } }));
    const r = await client.appendToStream(stream, events, { batchAppendSize: 64 * 1024, ...extra });
    process.stdout.write(JSON.stringify({ b, last: String(r.nextExpectedRevision) }) + "\\n");
  }
}
await Promise.all([lane(), lane()]);
`;

// Holds a stream subscription and a filtered $all subscription open until killed.
const SUBSCRIBER = `
import { KurrentDBClient, streamNameFilter } from "@kurrent/kurrentdb-client";
const [url, stream] = process.argv.slice(1);
const client = KurrentDBClient.connectionString(url);
let live = 0;
for (const sub of [
  client.subscribeToStream(stream),
  client.subscribeToAll({ filter: streamNameFilter({ prefixes: [stream] }) }),
]) {
  sub.on("caughtUp", () => { if (++live === 2) process.stdout.write(JSON.stringify({ live: true }) + "\\n"); });
  sub.on("data", (e) => process.stdout.write(JSON.stringify({ event: e.event.id }) + "\\n"));
}
`;

// Every acknowledged batch is there, and every batch that is there is whole: 400 events
// with contiguous revisions, in order.
async function assertWholeBatches(client, stream, acked) {
  let events = [];
  try {
    events = await collect(client.readStream(stream));
  } catch (e) {
    if (!(e instanceof StreamNotFoundError)) throw e;
  }
  const byBatch = new Map();
  events.forEach((e, idx) => {
    assert.equal(e.event.revision, BigInt(idx), "revisions are contiguous from 0");
    const { b, k } = e.event.data;
    if (!byBatch.has(b)) byBatch.set(b, []);
    byBatch.get(b).push({ k, revision: e.event.revision });
  });
  for (const [b, parts] of byBatch) {
    assert.equal(parts.length, 400, `batch ${b} is whole (all or nothing), got ${parts.length}`);
    parts.forEach((p, k) => {
      assert.equal(p.k, k);
      if (k > 0) assert.equal(p.revision, parts[k - 1].revision + 1n, `batch ${b} is contiguous`);
    });
  }
  for (const { b, last } of acked) {
    assert.ok(byBatch.has(b), `acknowledged batch ${b} is readable`);
    assert.equal(byBatch.get(b).at(-1).revision, BigInt(last), `batch ${b} ends where its ack said`);
  }
  return byBatch.size;
}

describe("with default limits", () => {
  let server;
  let client;
  before(async () => {
    server = await startServer();
    client = KurrentDBClient.connectionString(server.url);
  });
  after(async () => {
    await client?.dispose();
    await server?.stop();
  });

  for (const path of PATHS) {
    it(`an event over the 16 MiB maximum event size is refused (${path.name}) and the server goes on`, async () => {
      const s = uniqueStream("huge");
      const data = new Uint8Array(16 * MiB + 1024);
      const err = await rejection(client.appendToStream(s, binaryEvent({ type: "Huge", data }), path.extra));
      assert.ok(typeof err.type === "string", `a client CommandError, got ${err}`);
      assert.ok(!(err instanceof WrongExpectedVersionError));
      const nf = await rejection(collect(client.readStream(s)));
      assert.ok(nf instanceof StreamNotFoundError, "nothing was written");
      // An event just under the limit is fine (16 MiB counts data + metadata + type).
      const ok = new Uint8Array(16 * MiB - 4096);
      ok[0] = 7;
      ok[ok.length - 1] = 9;
      const r = await client.appendToStream(s, binaryEvent({ type: "Big", data: ok }), path.extra);
      assert.equal(r.nextExpectedRevision, 0n);
      const [back] = await collect(client.readStream(s));
      assert.equal(back.event.data.length, ok.length);
      assert.equal(back.event.data[0], 7);
      assert.equal(back.event.data[ok.length - 1], 9);
      await assertServing(server);
    });

    it(`a message larger than the server accepts fails the call, not the server (${path.name})`, async () => {
      const s = uniqueStream("toolarge");
      await rejection(
        client.appendToStream(s, binaryEvent({ type: "TooLarge", data: new Uint8Array(20 * MiB) }), path.extra),
      );
      // The same client recovers (a broken BatchAppend stream is replaced).
      const r = await client.appendToStream(s, jsonEvent({ type: "After", data: {} }), path.extra);
      assert.equal(r.nextExpectedRevision, 0n);
      await assertServing(server);
    });
  }

  for (const path of PATHS) {
    it(`empty and invalid stream names are refused (${path.name})`, async () => {
      for (const name of ["", "$all", "nul\u0000inside", "x".repeat(2049)]) {
        const err = await rejection(
          client.appendToStream(name, jsonEvent({ type: "Bad", data: {} }), path.extra),
          `append to ${JSON.stringify(name.slice(0, 20))}`,
        );
        assert.ok(typeof err.type === "string", `a client CommandError, got ${err}`);
      }
      await rejection(collect(client.readStream("")), "reading an empty stream name");
      await assertServing(server);
    });
  }

  for (const path of PATHS) {
    it(`a client killed in the middle of appending (${path.name}) loses nothing acknowledged and commits no partial append`, async () => {
      const s = uniqueStream(`killed-${path.name}`);
      const acked = [];
      const { proc, exited } = child(APPENDER, [server.url, s, path.name], (m) => acked.push(m));
      const deadline = Date.now() + 30000;
      while (acked.length < 2 && Date.now() < deadline) await sleep(5);
      assert.ok(acked.length >= 2, "the child appended");
      await sleep(20 + Math.floor(Math.random() * 60));
      proc.kill("SIGKILL");
      const { signal } = await exited;
      assert.equal(signal, "SIGKILL");
      await sleep(300); // let the server see the reset and finish what it had
      const batches = await assertWholeBatches(client, s, acked);
      assert.ok(batches >= acked.length);
      await assertServing(server);
    });
  }

  it("clients that go away mid-subscription (killed, unsubscribed, disposed) leave no subscription behind", async () => {
    const baseline = await metric(server, "kiroku_subscriptions_active");
    const s = uniqueStream("subgone");
    await client.appendToStream(s, jsonEvent({ type: "x", data: {} }));

    const lines = [];
    const { proc, exited } = child(SUBSCRIBER, [server.url, s], (m) => lines.push(m));
    const deadline = Date.now() + 20000;
    while (!lines.some((m) => m.live) && Date.now() < deadline) await sleep(10);
    assert.ok(lines.some((m) => m.live), "the child's subscriptions went live");
    assert.equal(await metric(server, "kiroku_subscriptions_active"), baseline + 2);
    proc.kill("SIGKILL");
    await exited;

    const other = KurrentDBClient.connectionString(server.url);
    const sub1 = other.subscribeToStream(s);
    const sub2 = other.subscribeToAll({ fromPosition: START });
    sub1.on("error", () => {});
    sub2.on("error", () => {}); // dispose() below cancels it
    await new Promise((resolve) => sub1.once("caughtUp", resolve));
    await sub1.unsubscribe();
    await sleep(100);
    await other.dispose(); // sub2 still open

    let active;
    for (let i = 0; i < 100; i++) {
      active = await metric(server, "kiroku_subscriptions_active");
      if (active === baseline) break;
      await sleep(50);
    }
    assert.equal(active, baseline, "every subscription was cleaned up");
    await client.appendToStream(s, jsonEvent({ type: "y", data: {} }));
    await assertServing(server);
  });
});

describe("with --max-append-size 1048576", () => {
  let server;
  let client;
  before(async () => {
    server = await startServer({ extraArgs: ["--max-append-size", "1048576"] });
    client = KurrentDBClient.connectionString(server.url);
  });
  after(async () => {
    await client?.dispose();
    await server?.stop();
  });

  for (const path of PATHS) {
    it(`an append over the limit fails with MaxAppendSizeExceededError (${path.name})`, async () => {
      const s = uniqueStream("toobig");
      const many = Array.from({ length: 2000 }, (_, i) => jsonEvent({ type: "Small", data: { i, pad: "y".repeat(1000) } }));
      const err = await rejection(client.appendToStream(s, many, path.extra));
      assert.ok(err instanceof MaxAppendSizeExceededError, `${err}`);
      assert.equal(err.maxAppendSize, 1048576);
      const one = await rejection(
        client.appendToStream(s, binaryEvent({ type: "One", data: new Uint8Array(MiB + 10) }), path.extra),
      );
      assert.ok(one instanceof MaxAppendSizeExceededError, `${one}`);
      const nf = await rejection(collect(client.readStream(s)));
      assert.ok(nf instanceof StreamNotFoundError, "nothing was written");
      const fits = Array.from({ length: 900 }, (_, i) => jsonEvent({ type: "Small", data: { i, pad: "z".repeat(1000) } }));
      const r = await client.appendToStream(s, fits, path.extra);
      assert.equal(r.nextExpectedRevision, 899n);
      await assertServing(server);
    });
  }
});

describe("crash and shutdown", () => {
  it("an acknowledged append survives SIGKILL and a restart on the same data directory", async () => {
    const dataDir = tempDataDir();
    const first = await startServer({ dataDir, keepData: true });
    const c1 = KurrentDBClient.connectionString(first.url);
    const s = uniqueStream("crash");
    const acked = [];
    try {
      for (let i = 0; i < 20; i++) {
        const r = await c1.appendToStream(s, [jsonEvent({ type: "K", data: { i, part: 0 } }), jsonEvent({ type: "K", data: { i, part: 1 } })]);
        acked.push(r);
      }
      await c1.setStreamMetadata(s, { custom: "survives" });
    } finally {
      await c1.dispose();
    }
    const killed = await first.kill();
    assert.equal(killed.signal, "SIGKILL");

    const second = await startServer({ dataDir });
    const c2 = KurrentDBClient.connectionString(second.url);
    try {
      const events = await collect(c2.readStream(s));
      assert.equal(events.length, 40);
      events.forEach((e, k) => {
        assert.equal(e.event.revision, BigInt(k));
        assert.deepEqual(e.event.data, { i: Math.floor(k / 2), part: k % 2 });
      });
      assert.deepEqual(events[39].event.position, acked[19].position);
      assert.equal((await c2.getStreamMetadata(s)).metadata.custom, "survives");
      const r = await c2.appendToStream(s, jsonEvent({ type: "K", data: { after: true } }), { streamState: 39n });
      assert.equal(r.nextExpectedRevision, 40n);
      assert.equal(await health(second), 204);
    } finally {
      await c2.dispose();
      await second.stop();
    }
  });

  it("SIGTERM with appends in flight: every append that resolved OK is readable after a restart", async () => {
    const dataDir = tempDataDir();
    const first = await startServer({ dataDir, keepData: true });
    const c1 = KurrentDBClient.connectionString(first.url);
    const s = uniqueStream("sigterm");
    const ok = [];
    let failed = 0;
    const lane = async (lane) => {
      for (let i = 0; i < 100000; i++) {
        const events = [jsonEvent({ type: "T", data: { lane, i, part: 0 } }), jsonEvent({ type: "T", data: { lane, i, part: 1 } })];
        try {
          const r = await c1.appendToStream(s, events, lane % 2 ? {} : { credentials: { username: "a", password: "b" } });
          ok.push({ ids: events.map((e) => e.id), last: r.nextExpectedRevision });
        } catch {
          failed++;
          return;
        }
      }
    };
    const lanes = Array.from({ length: 8 }, (_, k) => lane(k));
    while (ok.length < 50) await sleep(5);
    const status = first.stop(); // SIGTERM while the lanes keep appending
    assert.deepEqual(await status, { code: 0, signal: null }, "a clean shutdown");
    await Promise.all(lanes);
    await c1.dispose();
    assert.ok(failed >= 1, "appends in flight at shutdown failed rather than hung");

    const second = await startServer({ dataDir });
    const c2 = KurrentDBClient.connectionString(second.url);
    try {
      const events = await collect(c2.readStream(s));
      const byId = new Map(events.map((e) => [e.event.id, e.event]));
      for (const { ids, last } of ok) {
        for (const id of ids) assert.ok(byId.has(id), `acknowledged event ${id} survived`);
        assert.equal(byId.get(ids[1]).revision, last);
        assert.equal(byId.get(ids[0]).revision, last - 1n, "appends stay whole");
      }
      events.forEach((e, k) => assert.equal(e.event.revision, BigInt(k)));
      const all = await collect(c2.readAll({ filter: streamNameFilter({ prefixes: [s] }) }));
      assert.equal(all.length, events.length);
    } finally {
      await c2.dispose();
      await second.stop();
    }
  });
});
