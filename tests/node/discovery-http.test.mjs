// Cluster-style connection strings (gossip discovery against a single node) and the HTTP
// admin endpoints, through the official client and plain fetch.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { KurrentDBClient, jsonEvent } from "@kurrent/kurrentdb-client";
import { startServer, uniqueStream } from "./harness.mjs";

describe("discovery and HTTP admin", () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  for (const form of ["discover", "multi-host"]) {
    it(`a ${form} connection string reaches the node through gossip`, async () => {
      const url =
        form === "discover"
          ? `esdb+discover://127.0.0.1:${server.port}?tls=false`
          : `esdb://127.0.0.1:${server.port},127.0.0.1:${server.port}?tls=false`;
      const client = KurrentDBClient.connectionString(url);
      try {
        const s = uniqueStream(form);
        const r = await client.appendToStream(s, jsonEvent({ type: "Hello", data: { form } }));
        assert.equal(r.nextExpectedRevision, 0n);
        const events = [];
        for await (const e of client.readStream(s)) events.push(e.event);
        assert.equal(events.length, 1);
        assert.deepEqual(events[0].data, { form });
      } finally {
        await client.dispose();
      }
    });
  }

  it("/health/live, /metrics (with a growing fsync histogram), /stats and /streams", async () => {
    assert.equal((await fetch(`${server.httpUrl}/health/live`)).status, 204);
    const count = async () => {
      const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
      assert.match(text, /# TYPE kiroku_fsync_latency_seconds histogram/);
      assert.match(text, /kiroku_appends_total \d+/);
      return Number(/^kiroku_fsync_latency_seconds_count (\d+)$/m.exec(text)[1]);
    };
    const before = await count();
    const client = KurrentDBClient.connectionString(server.url);
    const s = uniqueStream("http");
    try {
      for (let i = 0; i < 3; i++) await client.appendToStream(s, jsonEvent({ type: "H", data: { i } }));
    } finally {
      await client.dispose();
    }
    assert.ok((await count()) >= before + 3, "each acknowledged append was fdatasync'ed");
    const stats = await (await fetch(`${server.httpUrl}/stats`)).json();
    assert.ok(stats.events_appended >= 3);
    const page = await (await fetch(`${server.httpUrl}/streams/${s}?from=1&count=5`)).json();
    assert.deepEqual(
      page.events.map((e) => e.data.i),
      [1, 2],
    );
    assert.equal((await fetch(`${server.httpUrl}/streams/${uniqueStream("none")}`)).status, 404);
    assert.equal((await fetch(`${server.httpUrl}/streams/${s}?count=abc`)).status, 400);
  });
});
