// Catch-up subscriptions through the official @kurrent/kurrentdb-client against a real kiroku
// server: history then live while appends race the switch, exclusive start points, filtered
// $all with checkpoints, caughtUp signals, missing and tombstoned streams.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  KurrentDBClient,
  jsonEvent,
  START,
  END,
  streamNameFilter,
  eventTypeFilter,
} from "@kurrent/kurrentdb-client";
import { startServer, uniqueStream } from "./harness.mjs";

// Appends `total` events to the given streams (round robin, batches of 1..5) as fast as
// the server takes them; resolves with the ids in append order.
async function writer(client, streams, total, type = "Tick") {
  const ids = [];
  let i = 0;
  while (i < total) {
    const n = Math.min(1 + (i % 5), total - i);
    const batch = [];
    for (let k = 0; k < n; k++, i++) batch.push(jsonEvent({ type, data: { i } }));
    await client.appendToStream(streams[i % streams.length], batch);
    for (const e of batch) ids.push(e.id);
  }
  return ids;
}

// Collects events from a subscription until `want` arrived or `ms` passed.
async function take(subscription, want, ms = 30000) {
  const got = [];
  const timer = setTimeout(() => subscription.unsubscribe(), ms);
  for await (const resolved of subscription) {
    got.push(resolved.event);
    if (got.length >= want) break;
  }
  clearTimeout(timer);
  await subscription.unsubscribe();
  return got;
}

function countSignals(subscription) {
  const c = { confirmation: 0, caughtUp: 0 };
  subscription.on("confirmation", () => c.confirmation++);
  subscription.on("caughtUp", () => c.caughtUp++);
  return c;
}

describe("catch-up subscriptions", () => {
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

  it("stream subscription from START catches up and goes live while appends race the switch", async () => {
    const stream = uniqueStream("race");
    const history = await writer(client, [stream], 300);
    const sub = client.subscribeToStream(stream, { fromRevision: START });
    const signals = countSignals(sub);
    const live = writer(client, [stream], 700);
    const got = await take(sub, 1000);
    const ids = [...history, ...(await live)];
    assert.equal(got.length, 1000);
    assert.deepEqual(
      got.map((e) => e.id),
      ids,
      "every event exactly once, in order",
    );
    assert.deepEqual(
      got.map((e) => e.revision),
      ids.map((_, k) => BigInt(k)),
    );
    assert.equal(signals.confirmation, 1);
    assert.equal(signals.caughtUp, 1);
  });

  it("filtered $all subscription racing appends delivers each matching event once, in $all order", async () => {
    const prefix = uniqueStream("fall");
    const streams = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
    const noise = uniqueStream("noise");
    const history = await writer(client, streams, 200);
    await writer(client, [noise], 50);
    const sub = client.subscribeToAll({
      fromPosition: START,
      filter: streamNameFilter({ prefixes: [prefix] }),
    });
    const signals = countSignals(sub);
    const [live] = await Promise.all([writer(client, streams, 400), writer(client, [noise], 100)]);
    const got = await take(sub, 600);
    assert.equal(got.length, 600);
    assert.ok(got.every((e) => e.streamId.startsWith(prefix)));
    assert.deepEqual(new Set(got.map((e) => e.id)).size, 600, "no duplicates");
    assert.deepEqual(
      new Set(got.map((e) => e.id)),
      new Set([...history, ...live]),
      "nothing missing",
    );
    for (let k = 1; k < got.length; k++) {
      assert.ok(got[k - 1].position.commit < got[k].position.commit, "in $all order");
    }
    assert.equal(signals.confirmation, 1);
    assert.equal(signals.caughtUp, 1);
  });

  it("fromRevision and fromPosition are exclusive; END delivers only new events", async () => {
    const stream = uniqueStream("excl");
    await writer(client, [stream], 4);
    const fromTwo = client.subscribeToStream(stream, { fromRevision: 2n });
    const one = await take(fromTwo, 1, 5000);
    assert.deepEqual(
      one.map((e) => e.revision),
      [3n],
    );

    const events = [];
    for await (const r of client.readStream(stream)) events.push(r.event);
    const fromPos = client.subscribeToAll({
      fromPosition: events[1].position,
      filter: streamNameFilter({ prefixes: [stream] }),
    });
    const after = await take(fromPos, 2, 5000);
    assert.deepEqual(
      after.map((e) => e.revision),
      [2n, 3n],
    );

    const fromEnd = client.subscribeToStream(stream, { fromRevision: END });
    const caught = new Promise((resolve) => fromEnd.on("caughtUp", resolve));
    await caught;
    await client.appendToStream(stream, jsonEvent({ type: "Late", data: {} }));
    const late = await take(fromEnd, 1, 5000);
    assert.equal(late.length, 1);
    assert.equal(late[0].type, "Late");
    assert.equal(late[0].revision, 4n);
  });

  it("filtered $all emits checkpoints and caughtUp even when nothing matches", async () => {
    const nothing = uniqueStream("NoSuchType");
    await writer(client, [uniqueStream("cp")], 200);
    const checkpoints = [];
    const sub = client.subscribeToAll({
      fromPosition: START,
      filter: eventTypeFilter({
        prefixes: [nothing],
        checkpointInterval: 1,
        checkpointReached: (_s, position) => {
          checkpoints.push(position.commit);
        },
      }),
    });
    await new Promise((resolve, reject) => {
      sub.on("caughtUp", resolve);
      sub.on("error", reject);
      (async () => {
        for await (const _ of sub) {
          reject(new Error("an event passed a filter nothing matches"));
        }
      })();
    });
    await sub.unsubscribe();
    assert.ok(checkpoints.length >= 2, `checkpoints: ${checkpoints.length}`);
    for (let k = 1; k < checkpoints.length; k++) {
      assert.ok(checkpoints[k - 1] < checkpoints[k], "checkpoints move forwards");
    }
  });

  it("a subscription to a missing stream waits for it; a tombstone ends it with an error", async () => {
    const stream = uniqueStream("later");
    const sub = client.subscribeToStream(stream, { fromRevision: START });
    const caught = new Promise((resolve) => sub.on("caughtUp", resolve));
    await caught;
    await client.appendToStream(stream, [jsonEvent({ type: "A", data: {} }), jsonEvent({ type: "B", data: {} })]);
    const got = await take(sub, 2, 5000);
    assert.deepEqual(
      got.map((e) => e.type),
      ["A", "B"],
    );

    const doomed = uniqueStream("doomed");
    await client.appendToStream(doomed, jsonEvent({ type: "A", data: {} }));
    const sub2 = client.subscribeToStream(doomed, { fromRevision: START });
    const ended = new Promise((resolve) => {
      sub2.on("error", (e) => resolve(e));
      (async () => {
        try {
          for await (const _ of sub2) {
            /* drain */
          }
        } catch (e) {
          resolve(e);
        }
      })();
    });
    await new Promise((resolve) => sub2.on("caughtUp", resolve));
    await client.tombstoneStream(doomed);
    const err = await Promise.race([
      ended,
      new Promise((_, reject) => setTimeout(() => reject(new Error("subscription did not end")), 10000)),
    ]);
    assert.ok(err, "the subscription ended with an error");
  });
});
