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

describe("persistent subscriptions (esdb client)", () => {
  let client;
  before(() => {
    client = EventStoreDBClient.connectionString(server.esdbUrl);
  });
  after(async () => client?.dispose());

  it("create, subscribe, ack, nack park, info and delete with the older client", async () => {
    const { persistentSubscriptionToStreamSettingsFromDefaults, START, PersistentSubscriptionExistsError } =
      await import("@eventstore/db-client");
    const s = uniqueStream("esgroup");
    await client.createPersistentSubscriptionToStream(s, "g", persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START }));
    await assert.rejects(
      client.createPersistentSubscriptionToStream(s, "g", persistentSubscriptionToStreamSettingsFromDefaults()),
      PersistentSubscriptionExistsError,
    );
    await client.appendToStream(s, [0, 1, 2, 3].map((i) => jsonEvent({ type: "x", data: { i } })));
    const sub = client.subscribeToPersistentSubscriptionToStream(s, "g");
    const seen = [];
    for await (const ev of sub) {
      seen.push(Number(ev.event.revision));
      if (ev.event.data.i === 2) await sub.nack("park", "test", ev);
      else await sub.ack(ev);
      if (seen.length === 4) break;
    }
    await sub.unsubscribe();
    assert.deepEqual(seen, [0, 1, 2, 3]);
    let info;
    for (let i = 0; i < 200; i++) {
      info = await client.getPersistentSubscriptionToStreamInfo(s, "g");
      if (info.stats.parkedMessageCount === 1n) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(info.stats.parkedMessageCount, 1n);
    await client.deletePersistentSubscriptionToStream(s, "g");
    assert.deepEqual(await client.listPersistentSubscriptionsToStream(s).catch((e) => e.constructor.name), "PersistentSubscriptionDoesNotExistError");
  });
});
