// The core append and read suites again, with @eventstore/db-client 6.2.1 (grpc-js for
// appends and reads, `expectedRevision`/`expectedVersion` naming). A separate process from
// the @kurrent/kurrentdb-client suites because the two packages cannot be loaded together
// (see append.test.mjs).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { EventStoreDBClient, jsonEvent, StreamDeletedError, StreamNotFoundError, NO_STREAM } from "@eventstore/db-client";
import { startServer, uniqueStream } from "./harness.mjs";
import { appendCoreSuite, collect, rejection } from "./append.test.mjs";
import { readCoreSuite } from "./read.test.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

appendCoreSuite("esdb", () => server);
readCoreSuite("esdb", () => server);

describe("deletes and discovery (esdb client)", () => {
  let client;
  before(() => {
    client = EventStoreDBClient.connectionString(server.esdbUrl);
  });
  after(async () => client?.dispose());

  it("deleteStream, tombstoneStream and their errors", async () => {
    const s = uniqueStream("esdel");
    await client.appendToStream(s, [jsonEvent({ type: "x", data: { i: 0 } }), jsonEvent({ type: "x", data: { i: 1 } })]);
    const wev = await rejection(client.deleteStream(s, { expectedRevision: 7n }));
    assert.equal(wev.constructor.name, "WrongExpectedVersionError");
    assert.equal(wev.streamName, s);
    assert.equal(wev.expectedVersion, 7n);
    assert.equal(wev.actualVersion, 1n);
    await client.deleteStream(s, { expectedRevision: 1n });
    const nf = await rejection(collect(client.readStream(s)));
    assert.ok(nf instanceof StreamNotFoundError, `${nf}`);
    const r = await client.appendToStream(s, jsonEvent({ type: "x", data: { i: 2 } }), { expectedRevision: NO_STREAM });
    assert.equal(r.nextExpectedRevision, 2n);
    await client.tombstoneStream(s);
    const del = await rejection(collect(client.readStream(s)));
    assert.ok(del instanceof StreamDeletedError, `${del}`);
    assert.equal(del.streamName, s);
    const meta = await rejection(client.getStreamMetadata(s));
    assert.ok(meta instanceof StreamDeletedError, `${meta}`);
  });

  for (const [label, url] of [
    ["esdb+discover://", () => `esdb+discover://127.0.0.1:${server.port}?tls=false`],
    ["multi-host esdb://", () => `esdb://127.0.0.1:${server.port},127.0.0.1:${server.port}?tls=false`],
  ]) {
    it(`connects with ${label} (gossip) and appends and reads`, async () => {
      const c = EventStoreDBClient.connectionString(url());
      try {
        const s = uniqueStream("esdisc");
        const r = await c.appendToStream(s, jsonEvent({ type: "d", data: { label } }));
        assert.equal(r.nextExpectedRevision, 0n);
        const events = await collect(c.readStream(s));
        assert.deepEqual(events.map((e) => e.event.data), [{ label }]);
      } finally {
        await c.dispose();
      }
    });
  }
});
