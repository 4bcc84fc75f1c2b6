// Cluster-style connection strings (gossip discovery against one node) through the official
// KurrentDB Node.js client, and kiroku's HTTP admin endpoints through plain fetch.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { KurrentDBClient, jsonEvent } from "@kurrent/kurrentdb-client";
import { startServer, uniqueStream } from "./harness.mjs";
import { collect } from "./append.test.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

async function metrics() {
  const res = await fetch(`${server.httpUrl}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/plain/);
  return res.text();
}

function sample(text, name) {
  const m = new RegExp(`^${name.replace(/[{}"+.]/g, "\\$&")} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

function histogram(text, name) {
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, "gm"))].map((m) => ({
    le: m[1] === "+Inf" ? Infinity : Number(m[1]),
    count: Number(m[2]),
  }));
  return { buckets, count: sample(text, `${name}_count`), sum: sample(text, `${name}_sum`) };
}

describe("connection strings", () => {
  const forms = [
    ["esdb+discover://", () => `esdb+discover://127.0.0.1:${server.port}?tls=false`],
    ["kurrentdb+discover://", () => `kurrentdb+discover://127.0.0.1:${server.port}?tls=false`],
    ["multi-host esdb://", () => `esdb://127.0.0.1:${server.port},127.0.0.1:${server.port}?tls=false`],
    ["multi-host kurrentdb://", () => `kurrentdb://127.0.0.1:${server.port},127.0.0.1:${server.port}?tls=false`],
  ];
  for (const [label, url] of forms) {
    it(`${label} finds the node through gossip; appends, reads and subscriptions work`, async () => {
      const client = KurrentDBClient.connectionString(url());
      try {
        const s = uniqueStream("gossip");
        const r = await client.appendToStream(s, [
          jsonEvent({ type: "G", data: { n: 1 } }),
          jsonEvent({ type: "G", data: { n: 2 } }),
        ]);
        assert.equal(r.nextExpectedRevision, 1n);
        const events = await collect(client.readStream(s));
        assert.deepEqual(
          events.map((e) => e.event.data.n),
          [1, 2],
        );
        const all = await collect(client.readAll({ maxCount: 1 }));
        assert.equal(all.length, 1);
        const sub = client.subscribeToStream(s);
        const got = [];
        for await (const e of sub) {
          got.push(e.event.data.n);
          if (got.length === 2) break;
        }
        await sub.unsubscribe();
        assert.deepEqual(got, [1, 2]);
      } finally {
        await client.dispose();
      }
    });
  }
});

describe("HTTP admin", () => {
  let client;
  before(() => {
    client = KurrentDBClient.connectionString(server.url);
  });
  after(async () => client?.dispose());

  it("/health/live answers 204 with no body", async () => {
    const res = await fetch(`${server.httpUrl}/health/live`);
    assert.equal(res.status, 204);
    assert.equal(await res.text(), "");
  });

  it("/metrics counts appends and has an fsync latency histogram that grows", async () => {
    const before = await metrics();
    const appendsBefore = sample(before, "kiroku_appends_total");
    const eventsBefore = sample(before, "kiroku_events_appended_total");
    const hBefore = histogram(before, "kiroku_fsync_latency_seconds");
    assert.ok(Number.isFinite(appendsBefore), "kiroku_appends_total is there");
    assert.match(before, /^# TYPE kiroku_appends_total counter$/m);
    assert.match(before, /^# TYPE kiroku_fsync_latency_seconds histogram$/m);
    assert.ok(hBefore.buckets.length >= 2, "histogram buckets");

    const s = uniqueStream("metrics");
    for (let i = 0; i < 5; i++) {
      await client.appendToStream(s, [jsonEvent({ type: "M", data: { i } }), jsonEvent({ type: "M", data: { i } })]);
    }
    const after = await metrics();
    assert.equal(sample(after, "kiroku_appends_total"), appendsBefore + 5);
    assert.equal(sample(after, "kiroku_events_appended_total"), eventsBefore + 10);
    const h = histogram(after, "kiroku_fsync_latency_seconds");
    assert.ok(h.count >= hBefore.count + 5, `fsyncs counted: ${hBefore.count} -> ${h.count}`);
    assert.ok(h.sum > hBefore.sum, "latency sum grows");
    for (let k = 1; k < h.buckets.length; k++) {
      assert.ok(h.buckets[k].le > h.buckets[k - 1].le, "bucket bounds ascend");
      assert.ok(h.buckets[k].count >= h.buckets[k - 1].count, "buckets are cumulative");
    }
    assert.equal(h.buckets.at(-1).le, Infinity);
    assert.equal(h.buckets.at(-1).count, h.count, "+Inf bucket equals _count");
  });

  it("/stats is JSON that follows the log", async () => {
    const get = async () => {
      const res = await fetch(`${server.httpUrl}/stats`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type"), /^application\/json/);
      return res.json();
    };
    const a = await get();
    for (const key of ["log_end", "appends", "events_appended", "fsyncs", "segments"]) {
      assert.equal(typeof a[key], "number", key);
    }
    const r = await client.appendToStream(uniqueStream("stats"), jsonEvent({ type: "S", data: {} }));
    const b = await get();
    assert.equal(b.appends, a.appends + 1);
    assert.equal(b.events_appended, a.events_appended + 1);
    assert.ok(b.log_end > Number(r.position.commit), "log_end is past the last event");
  });

  it("/streams/{name}?from=&count= returns the events; missing 404, tombstoned 410, bad 400", async () => {
    const s = uniqueStream("http");
    const appended = [];
    for (let i = 0; i < 6; i++) {
      const e = jsonEvent({ type: "H", data: { i, text: "ü✓" }, metadata: { m: i } });
      appended.push(e);
      await client.appendToStream(s, e);
    }
    const res = await fetch(`${server.httpUrl}/streams/${s}?from=2&count=3`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.stream, s);
    assert.deepEqual(
      body.events.map((e) => e.revision),
      [2, 3, 4],
    );
    assert.deepEqual(
      body.events.map((e) => e.data),
      [2, 3, 4].map((i) => ({ i, text: "ü✓" })),
    );
    assert.deepEqual(
      body.events.map((e) => e.id),
      appended.slice(2, 5).map((e) => e.id),
    );
    assert.deepEqual(body.events[0].metadata, { m: 2 });
    assert.equal(body.events[0].type, "H");
    assert.equal(body.events[0].stream, s);

    const all = await (await fetch(`${server.httpUrl}/streams/${s}`)).json();
    assert.equal(all.events.length, 6);
    const back = await (await fetch(`${server.httpUrl}/streams/${s}?direction=backwards&count=2`)).json();
    assert.deepEqual(
      back.events.map((e) => e.revision),
      [5, 4],
    );

    assert.equal((await fetch(`${server.httpUrl}/streams/${uniqueStream("none")}`)).status, 404);
    assert.equal((await fetch(`${server.httpUrl}/streams/${s}?from=abc`)).status, 400);
    await client.tombstoneStream(s);
    assert.equal((await fetch(`${server.httpUrl}/streams/${s}`)).status, 410);
  });
});
