// appendToStream through the official Node.js clients, unchanged, against a real kiroku server:
// every expected-revision mode and its error, the result fields, both the BatchAppend and the
// plain Append rpc, payload round trips and concurrency.
//
// The two client packages cannot share one process: both generate google-protobuf code into
// the same global `proto.event_store.client.*` namespace, so whichever loads second replaces
// the first one's message classes (the KurrentDB client's BatchAppend then throws inside
// setDeadline21100). The core suites below therefore take a client "flavor" and load the
// package lazily; this file runs them with @kurrent/kurrentdb-client, and
// esdb-client.test.mjs runs the same suites, in its own process, with @eventstore/db-client.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import createDebug from "debug";
import { startServer, uniqueStream } from "./harness.mjs";

// ---------------------------------------------------------------------------------------------
// Shared helpers (imported by the other test files).

export async function collect(iterable) {
  const out = [];
  for await (const x of iterable) out.push(x);
  return out;
}

// Awaits `promise` and returns the error it rejects with; fails if it resolves.
export async function rejection(promise, what = "operation") {
  try {
    const value = await promise;
    assert.fail(`${what} should have failed but resolved with ${JSON.stringify(value, big)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return err;
  }
}

function big(_k, v) {
  return typeof v === "bigint" ? `${v}n` : v;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Client flavors: the same tests, two official packages. Option and field names differ:
// @kurrent/kurrentdb-client says `streamState` / `expectedState` / `actualState`,
// @eventstore/db-client 6.x says `expectedRevision` / `expectedVersion` / `actualVersion`.
export async function loadFlavor(name) {
  if (name === "kurrentdb") {
    const lib = await import("@kurrent/kurrentdb-client");
    return {
      name,
      lib,
      debugNamespace: "kdb",
      connect: (server) => lib.KurrentDBClient.connectionString(server.url),
      connectString: (s) => lib.KurrentDBClient.connectionString(s),
      state: (v) => ({ streamState: v }),
      wevExpected: (e) => e.expectedState,
      wevActual: (e) => e.actualState,
    };
  }
  if (name === "esdb") {
    const lib = await import("@eventstore/db-client");
    return {
      name,
      lib,
      debugNamespace: "esdb",
      connect: (server) => lib.EventStoreDBClient.connectionString(server.esdbUrl),
      connectString: (s) => lib.EventStoreDBClient.connectionString(s),
      state: (v) => ({ expectedRevision: v }),
      wevExpected: (e) => e.expectedVersion,
      wevActual: (e) => e.actualVersion,
    };
  }
  throw new Error(`unknown client flavor ${name}`);
}

// Records the client's own debug output: the Append rpc logs "appendToStream: ..." on the
// `<ns>:command` channel; the BatchAppend rpc logs "batchAppend: ..." on `<ns>:command:grpc`.
export async function withClientDebugLog(namespace, fn) {
  const lines = [];
  const previous = createDebug.log;
  createDebug.log = (...args) => lines.push(args.join(" "));
  createDebug.enable(`${namespace}:command,${namespace}:command:grpc`);
  try {
    await fn();
  } finally {
    createDebug.disable();
    createDebug.log = previous;
  }
  return lines;
}

// Per-call credentials make both clients use the plain Append rpc instead of BatchAppend
// (appendToStream/index.js). On a tls=false connection they send no authorization header
// ("Credentials are unsupported in insecure mode"), so an insecure server accepts the call.
export const APPEND_RPC_CREDENTIALS = { username: "admin", password: "changeit" };

export const PATHS = [
  { name: "BatchAppend", extra: {} },
  { name: "Append", extra: { credentials: APPEND_RPC_CREDENTIALS } },
];

// ---------------------------------------------------------------------------------------------
// Core suite: run with both client packages.

export function appendCoreSuite(flavorName, getServer) {
  describe(`appendToStream core (${flavorName})`, () => {
    let f;
    let client;
    let lib;

    before(async () => {
      f = await loadFlavor(flavorName);
      lib = f.lib;
      client = f.connect(getServer());
    });
    after(async () => {
      await client?.dispose();
    });

    const ev = (i, type = "AppendTest") => lib.jsonEvent({ type, data: { i } });
    const revisions = async (stream) =>
      (await collect(client.readStream(stream))).map((e) => e.event.revision);

    it("uses BatchAppend by default and Append when per-call credentials are given", async () => {
      const s = uniqueStream("path");
      const batchLog = await withClientDebugLog(f.debugNamespace, () =>
        client.appendToStream(s, ev(0)),
      );
      assert.ok(batchLog.some((l) => l.includes("batchAppend:")), batchLog.join("\n"));
      assert.ok(!batchLog.some((l) => l.includes("appendToStream:")), batchLog.join("\n"));
      const appendLog = await withClientDebugLog(f.debugNamespace, () =>
        client.appendToStream(s, ev(1), { credentials: APPEND_RPC_CREDENTIALS }),
      );
      assert.ok(appendLog.some((l) => l.includes("appendToStream:")), appendLog.join("\n"));
      assert.ok(!appendLog.some((l) => l.includes("batchAppend:")), appendLog.join("\n"));
      assert.deepEqual(await revisions(s), [0n, 1n]);
    });

    for (const path of PATHS) {
      describe(`via ${path.name}`, () => {
        const opts = (state) => ({ ...(state === undefined ? {} : f.state(state)), ...path.extra });

        it("any: creates, then continues; result carries revision and position", async () => {
          const s = uniqueStream("any");
          const r1 = await client.appendToStream(s, [ev(0), ev(1), ev(2)], opts(lib.ANY));
          assert.equal(r1.success, true);
          assert.equal(r1.nextExpectedRevision, 2n);
          assert.equal(typeof r1.position.commit, "bigint");
          assert.ok(r1.position.commit > 0n);
          assert.equal(r1.position.prepare, r1.position.commit);
          const r2 = await client.appendToStream(s, ev(3), opts(undefined)); // default is any
          assert.equal(r2.nextExpectedRevision, 3n);
          assert.ok(r2.position.commit > r1.position.commit);
          const events = await collect(client.readStream(s));
          assert.deepEqual(
            events.map((e) => e.event.revision),
            [0n, 1n, 2n, 3n],
          );
          assert.deepEqual(
            events.map((e) => e.event.data.i),
            [0, 1, 2, 3],
          );
          // The append result's position is the position of the last event it wrote.
          assert.deepEqual(events[2].event.position, r1.position);
          assert.deepEqual(events[3].event.position, r2.position);
          assert.ok(events[0].event.position.commit < events[1].event.position.commit);
        });

        it("no_stream: ok on a new stream, WrongExpectedVersion with the actual revision on an existing one", async () => {
          const s = uniqueStream("nostream");
          const r = await client.appendToStream(s, [ev(0), ev(1), ev(2), ev(3)], opts(lib.NO_STREAM));
          assert.equal(r.nextExpectedRevision, 3n);
          const err = await rejection(client.appendToStream(s, ev(4), opts(lib.NO_STREAM)));
          assert.ok(err instanceof lib.WrongExpectedVersionError, `${err}`);
          assert.equal(err.streamName, s);
          assert.equal(f.wevExpected(err), lib.NO_STREAM);
          assert.equal(f.wevActual(err), 3n);
          assert.deepEqual(await revisions(s), [0n, 1n, 2n, 3n]);
        });

        it("stream_exists: WrongExpectedVersion (actual no_stream) on a missing stream, ok on an existing one", async () => {
          const s = uniqueStream("exists");
          const err = await rejection(client.appendToStream(s, ev(0), opts(lib.STREAM_EXISTS)));
          assert.ok(err instanceof lib.WrongExpectedVersionError, `${err}`);
          assert.equal(err.streamName, s);
          assert.equal(f.wevExpected(err), lib.STREAM_EXISTS);
          assert.equal(f.wevActual(err), lib.NO_STREAM);
          await rejection(collect(client.readStream(s)), "reading the stream the failed append named");
          await client.appendToStream(s, ev(0), opts(lib.ANY));
          const r = await client.appendToStream(s, ev(1), opts(lib.STREAM_EXISTS));
          assert.equal(r.nextExpectedRevision, 1n);
        });

        it("exact revision: right → ok, wrong → WrongExpectedVersion with expected and actual", async () => {
          const s = uniqueStream("exact");
          const missing = await rejection(client.appendToStream(s, ev(0), opts(1n)));
          assert.ok(missing instanceof lib.WrongExpectedVersionError, `${missing}`);
          assert.equal(f.wevExpected(missing), 1n);
          assert.equal(f.wevActual(missing), lib.NO_STREAM);

          await client.appendToStream(s, [ev(0), ev(1)], opts(lib.NO_STREAM));
          const ok = await client.appendToStream(s, [ev(2), ev(3)], opts(1n));
          assert.equal(ok.success, true);
          assert.equal(ok.nextExpectedRevision, 3n);
          for (const wrong of [2n, 4n, 0n]) {
            const err = await rejection(client.appendToStream(s, ev(99), opts(wrong)));
            assert.ok(err instanceof lib.WrongExpectedVersionError, `${err}`);
            assert.equal(err.streamName, s);
            assert.equal(f.wevExpected(err), wrong);
            assert.equal(f.wevActual(err), 3n);
          }
          const ok2 = await client.appendToStream(s, ev(4), opts(3n));
          assert.equal(ok2.nextExpectedRevision, 4n);
          assert.deepEqual(await revisions(s), [0n, 1n, 2n, 3n, 4n]);
        });

        it("unicode JSON round-trips exactly", async () => {
          const s = uniqueStream("unicode");
          const data = {
            text: "héllo wörld — 日本語テキスト — עברית — Ελληνικά — 🎉👩‍👩‍👧‍👦🏳️‍🌈",
            escapes: "quote\" backslash\\ tab\t newline\n nul\u0000 bell\u0007 \u2028\u2029",
            combining: "e\u0301 a\u030a",
            astral: "𝄞 𠜎 \u{1F600}",
            nested: { "ключ": ["значение", 1.5, -0.25, null, true, { "🔑": "🗝️" }] },
          };
          const metadata = { "ünïcödé": "メタデータ 🚀" };
          await client.appendToStream(s, lib.jsonEvent({ type: "Ünïcode-Тип-型", data, metadata }), opts());
          const [read] = await collect(client.readStream(s));
          assert.equal(read.event.type, "Ünïcode-Тип-型");
          assert.equal(read.event.isJson, true);
          assert.deepEqual(read.event.data, data);
          assert.deepEqual(read.event.metadata, metadata);
          // Byte-exact: the same text sent as a binary payload comes back as the same UTF-8 bytes.
          const bytes = new Uint8Array(Buffer.from(JSON.stringify(data), "utf8"));
          await client.appendToStream(s, lib.binaryEvent({ type: "raw", data: bytes }), opts());
          const [, raw] = await collect(client.readStream(s));
          assert.equal(raw.event.isJson, false);
          assert.deepEqual(Buffer.from(raw.event.data), Buffer.from(bytes));
        });

        it("binary events and metadata round-trip byte for byte", async () => {
          const s = uniqueStream("binary");
          const all = new Uint8Array(256 * 4);
          for (let i = 0; i < all.length; i++) all[i] = i % 256;
          const meta = new Uint8Array([0, 255, 1, 254, 0x80, 0x7f]);
          const empty = new Uint8Array(0);
          await client.appendToStream(
            s,
            [
              lib.binaryEvent({ type: "bin", data: all, metadata: meta }),
              lib.binaryEvent({ type: "empty", data: empty }),
            ],
            opts(),
          );
          const [a, b] = await collect(client.readStream(s));
          assert.equal(a.event.isJson, false);
          assert.deepEqual(Buffer.from(a.event.data), Buffer.from(all));
          assert.deepEqual(Buffer.from(a.event.metadata), Buffer.from(meta));
          assert.equal(b.event.type, "empty");
          assert.equal(Buffer.from(b.event.data).length, 0);
          assert.equal(b.event.metadata, undefined);
        });

        it("custom metadata round-trips; events keep their ids, types and created time", async () => {
          const s = uniqueStream("meta");
          const before = Date.now();
          const e1 = lib.jsonEvent({
            type: "WithMeta",
            data: { x: 1 },
            metadata: { $correlationId: "c-1", tags: ["a", "b"], n: 42, nested: { deep: true } },
          });
          const e2 = lib.jsonEvent({ type: "NoMeta", data: [1, 2, 3] });
          await client.appendToStream(s, [e1, e2], opts());
          const [r1, r2] = await collect(client.readStream(s));
          assert.equal(r1.event.id, e1.id);
          assert.equal(r2.event.id, e2.id);
          assert.equal(r1.event.type, "WithMeta");
          assert.equal(r1.event.streamId, s);
          assert.deepEqual(r1.event.metadata, e1.metadata);
          assert.equal(r2.event.metadata, undefined);
          assert.deepEqual(r2.event.data, [1, 2, 3]);
          assert.equal(r1.event.isJson, true);
          assert.ok(r1.event.created instanceof Date);
          const t = r1.event.created.getTime();
          assert.ok(t >= before - 5000 && t <= Date.now() + 5000, `created ${r1.event.created.toISOString()}`);
        });

        it("appending to a tombstoned stream fails with StreamDeletedError", async () => {
          const s = uniqueStream("tomb");
          await client.appendToStream(s, ev(0), opts());
          await client.tombstoneStream(s);
          const err = await rejection(client.appendToStream(s, ev(1), opts()));
          assert.ok(err instanceof lib.StreamDeletedError, `${err}`);
          assert.equal(err.streamName, s);
        });

        it("an empty append checks the expected revision and writes nothing", async () => {
          const s = uniqueStream("emptyappend");
          await client.appendToStream(s, [ev(0), ev(1)], opts());
          const r = await client.appendToStream(s, [], opts(1n));
          assert.equal(r.success, true);
          assert.equal(r.nextExpectedRevision, 1n);
          const err = await rejection(client.appendToStream(s, [], opts(lib.NO_STREAM)));
          assert.ok(err instanceof lib.WrongExpectedVersionError, `${err}`);
          assert.equal(f.wevActual(err), 1n);
          assert.deepEqual(await revisions(s), [0n, 1n]);
        });

        it("200 concurrent appends to one stream all succeed with contiguous revisions", async () => {
          const s = uniqueStream("concurrent");
          const n = 200;
          const results = await Promise.all(
            Array.from({ length: n }, (_, i) => client.appendToStream(s, ev(i), opts())),
          );
          const byRevision = new Map(results.map((r, i) => [r.nextExpectedRevision, i]));
          assert.equal(byRevision.size, n, "every append got its own revision");
          const events = await collect(client.readStream(s));
          assert.deepEqual(
            events.map((e) => e.event.revision),
            Array.from({ length: n }, (_, i) => BigInt(i)),
          );
          for (const e of events) {
            // The event at revision r is the one whose append reported r.
            assert.equal(e.event.data.i, byRevision.get(e.event.revision));
            assert.deepEqual(e.event.position, results[e.event.data.i].position);
          }
        });
      });
    }

    it("throwOnAppendFailure=false reports a wrong expected revision as success:false", async () => {
      const s = uniqueStream("nothrow");
      const url =
        flavorName === "kurrentdb" ? getServer().url : getServer().esdbUrl;
      const lenient = f.connectString(`${url}&throwOnAppendFailure=false`);
      try {
        await lenient.appendToStream(s, [ev(0), ev(1)]);
        for (const path of PATHS) {
          const r = await lenient.appendToStream(s, ev(2), { ...f.state(5n), ...path.extra });
          assert.equal(r.success, false, path.name);
        }
        assert.deepEqual(await revisions(s), [0n, 1n]);
      } finally {
        await lenient.dispose();
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// This file's own run: the core suite with the KurrentDB client, plus KurrentDB-client-only
// cases.

const isMain = process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url;

if (isMain) {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  appendCoreSuite("kurrentdb", () => server);

  describe("appendToStream (kurrentdb client only)", () => {
    let lib;
    let client;
    before(async () => {
      lib = await import("@kurrent/kurrentdb-client");
      client = lib.KurrentDBClient.connectionString(server.url);
    });
    after(async () => client?.dispose());

    it("one append split into many BatchAppend chunks is atomic and ordered", async () => {
      const s = uniqueStream("chunks");
      const events = Array.from({ length: 500 }, (_, i) =>
        lib.jsonEvent({ type: "Chunked", data: { i, pad: "x".repeat(200) } }),
      );
      // batchAppendSize 4 KiB: about 16 events per chunk, ~30 chunks for one correlation id.
      const r = await client.appendToStream(s, events, { batchAppendSize: 4096 });
      assert.equal(r.nextExpectedRevision, 499n);
      const read = await collect(client.readStream(s));
      assert.deepEqual(
        read.map((e) => e.event.data.i),
        events.map((_, i) => i),
      );
      assert.deepEqual(
        read.map((e) => e.event.id),
        events.map((e) => e.id),
      );
    });

    it("appends the server refuses at once, interleaved with good ones on one BatchAppend stream, all get answered", async () => {
      // An append refused by validation (empty stream name) is answered on the gRPC thread
      // while other appends of the same stream are answered by the committer: both must
      // make progress (this used to deadlock the BatchAppend stream).
      const s = uniqueStream("mixed");
      for (let round = 0; round < 5; round++) {
        const tasks = [];
        for (let i = 0; i < 100; i++) {
          tasks.push(client.appendToStream(s, lib.jsonEvent({ type: "Good", data: { round, i } })).then(() => "ok"));
          tasks.push(
            client.appendToStream("", lib.jsonEvent({ type: "Bad", data: {} })).then(
              () => "accepted",
              () => "refused",
            ),
          );
        }
        let timer;
        const hung = new Promise((resolve) => {
          timer = setTimeout(() => resolve("hung"), 15000);
        });
        const results = await Promise.race([Promise.all(tasks), hung]);
        clearTimeout(timer);
        assert.notEqual(results, "hung", `round ${round}: appends on the BatchAppend stream stopped being answered`);
        assert.equal(results.filter((r) => r === "ok").length, 100);
        assert.equal(results.filter((r) => r === "refused").length, 100);
      }
      const read = await collect(client.readStream(s));
      assert.equal(read.length, 500);
    });

    it("concurrent appends to many streams through one BatchAppend stream all resolve correctly", async () => {
      const streams = Array.from({ length: 20 }, () => uniqueStream("multi"));
      const tasks = [];
      for (let round = 0; round < 5; round++) {
        for (const s of streams) {
          tasks.push(client.appendToStream(s, lib.jsonEvent({ type: "M", data: { round } })));
        }
      }
      // Interleave WrongExpectedVersion failures on the same BatchAppend stream.
      const failing = streams.map((s) =>
        rejection(client.appendToStream(s, lib.jsonEvent({ type: "M", data: {} }), { streamState: 1000n })),
      );
      await Promise.all(tasks);
      for (const err of await Promise.all(failing)) {
        assert.ok(err instanceof lib.WrongExpectedVersionError, `${err}`);
        assert.equal(err.expectedState, 1000n);
      }
      for (const s of streams) {
        const read = await collect(client.readStream(s));
        assert.deepEqual(
          read.map((e) => e.event.revision),
          [0n, 1n, 2n, 3n, 4n],
        );
      }
    });
  });
}
