// Catch-up subscriptions (subscribeToStream / subscribeToAll) through the official KurrentDB
// Node.js client against a real kiroku server: history then live while a writer races the
// switch, exclusive start points, END, filters with checkpoints, missing and tombstoned
// streams, stream metadata.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  KurrentDBClient,
  jsonEvent,
  START,
  END,
  BACKWARDS,
  streamNameFilter,
  eventTypeFilter,
  StreamDeletedError,
} from "@kurrent/kurrentdb-client";
import { startServer, uniqueStream } from "./harness.mjs";
import { collect, sleep } from "./append.test.mjs";

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

// Records everything a subscription emits. `until(pred)` resolves once pred(state) holds.
function watch(subscription, { checkpoints } = {}) {
  const state = {
    events: [],
    confirmations: 0,
    caughtUps: [],
    checkpoints: checkpoints ?? [],
    eventsAtCaughtUp: undefined,
    error: undefined,
    ended: false,
  };
  const waiters = new Set();
  const poke = () => {
    for (const w of waiters) w();
  };
  subscription.on("data", (e) => {
    state.events.push(e);
    poke();
  });
  subscription.on("confirmation", () => {
    state.confirmations++;
    poke();
  });
  subscription.on("caughtUp", (info) => {
    state.caughtUps.push(info);
    if (state.eventsAtCaughtUp === undefined) state.eventsAtCaughtUp = state.events.length;
    poke();
  });
  subscription.on("error", (err) => {
    state.error = err;
    poke();
  });
  subscription.on("end", () => {
    state.ended = true;
    poke();
  });
  state.poke = poke; // for signals the subscription does not emit (checkpointReached)
  state.until = (pred, what = "condition", ms = 30000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (pred(state)) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(state);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `timed out waiting for ${what}: ${state.events.length} events, ` +
              `${state.confirmations} confirmations, ${state.caughtUps.length} caughtUps, ` +
              `${state.checkpoints.length} checkpoints, error=${state.error}`,
          ),
        );
      }, ms);
      waiters.add(check);
      check();
    });
  return state;
}

// Appends `total` events round robin over `streams`, in batches of 1..3, one append after
// the other, and returns [{stream, id, i}] in append (= $all) order.
async function writer(streams, total, type = "Tick", from = 0) {
  const written = [];
  let i = from;
  let s = 0;
  while (i < from + total) {
    const n = Math.min(1 + (i % 3), from + total - i);
    const stream = streams[s++ % streams.length];
    const batch = [];
    for (let k = 0; k < n; k++, i++) batch.push(jsonEvent({ type, data: { i } }));
    await client.appendToStream(stream, batch);
    for (const e of batch) written.push({ stream, id: e.id, i: e.data.i });
  }
  return written;
}

const ids = (events) => events.map((e) => e.event.id);

describe("subscribeToStream", () => {
  it("catches up and goes live while a writer races the switch: every event once, in order", async () => {
    const s = uniqueStream("sub-race");
    const history = await writer([s], 120);
    const sub = client.subscribeToStream(s, { fromRevision: START });
    const w = watch(sub);
    const live = writer([s], 400, "Tick", 120); // runs while the subscription catches up
    const all = [...history, ...(await live)];
    await w.until((st) => st.events.length >= all.length, `${all.length} events`);
    await sleep(300); // nothing more may arrive
    await sub.unsubscribe();
    assert.equal(w.error, undefined);
    assert.equal(w.events.length, all.length, "no duplicates, nothing extra");
    assert.deepEqual(ids(w.events), all.map((e) => e.id));
    assert.deepEqual(
      w.events.map((e) => e.event.revision),
      all.map((_, k) => BigInt(k)),
    );
    assert.equal(w.confirmations, 1);
    assert.equal(w.caughtUps.length, 1);
    assert.ok(w.eventsAtCaughtUp >= history.length, "caughtUp comes after the history");
    assert.ok(w.caughtUps[0].date instanceof Date);
  });

  it("fromRevision is exclusive", async () => {
    const s = uniqueStream("sub-from");
    await writer([s], 5);
    const sub = client.subscribeToStream(s, { fromRevision: 2n });
    const w = watch(sub);
    await w.until((st) => st.caughtUps.length === 1, "caughtUp");
    assert.deepEqual(
      w.events.map((e) => e.event.revision),
      [3n, 4n],
    );
    assert.equal(w.caughtUps[0].revision, 4n, "caughtUp carries the last revision sent");
    await writer([s], 2, "Tick", 5);
    await w.until((st) => st.events.length === 4, "2 live events");
    assert.deepEqual(
      w.events.map((e) => e.event.revision),
      [3n, 4n, 5n, 6n],
    );
    await sub.unsubscribe();
  });

  it("END delivers only events appended after the subscription started", async () => {
    const s = uniqueStream("sub-end");
    await writer([s], 4);
    const sub = client.subscribeToStream(s, { fromRevision: END });
    const w = watch(sub);
    await w.until((st) => st.caughtUps.length === 1, "caughtUp");
    assert.equal(w.events.length, 0);
    const fresh = await writer([s], 3, "Tick", 100);
    await w.until((st) => st.events.length === 3, "3 new events");
    assert.deepEqual(ids(w.events), fresh.map((e) => e.id));
    assert.deepEqual(
      w.events.map((e) => e.event.revision),
      [4n, 5n, 6n],
    );
    await sub.unsubscribe();
  });

  it("a missing stream: confirmation and caughtUp, then its events once it is written", async () => {
    const s = uniqueStream("sub-missing");
    const sub = client.subscribeToStream(s);
    const w = watch(sub);
    await w.until((st) => st.confirmations === 1 && st.caughtUps.length === 1, "confirmation and caughtUp");
    await sleep(200);
    assert.equal(w.events.length, 0);
    assert.equal(w.error, undefined);
    const written = await writer([s], 5);
    await w.until((st) => st.events.length === 5, "5 events");
    assert.deepEqual(ids(w.events), written.map((e) => e.id));
    await sub.unsubscribe();
  });

  it("tombstoning a live subscription's stream ends it with StreamDeletedError", async () => {
    const s = uniqueStream("sub-tomb");
    await writer([s], 2);
    const sub = client.subscribeToStream(s);
    const w = watch(sub);
    await w.until((st) => st.caughtUps.length === 1, "caughtUp");
    await client.tombstoneStream(s);
    await w.until((st) => st.error !== undefined, "an error");
    assert.ok(w.error instanceof StreamDeletedError, `${w.error}`);
    assert.equal(w.error.streamName, s);
    assert.deepEqual(
      w.events.filter((e) => e.event.type === "Tick").map((e) => e.event.revision),
      [0n, 1n],
    );
  });

  it("subscribing to an already tombstoned stream fails with StreamDeletedError", async () => {
    const s = uniqueStream("sub-tombed");
    await writer([s], 1);
    await client.tombstoneStream(s);
    const sub = client.subscribeToStream(s);
    const w = watch(sub);
    await w.until((st) => st.error !== undefined, "an error");
    assert.ok(w.error instanceof StreamDeletedError, `${w.error}`);
    assert.equal(w.error.streamName, s);
    assert.equal(w.events.length, 0);
  });

  it("truncateBefore and maxCount apply to stream subscriptions but not to $all", async () => {
    const s = uniqueStream("sub-meta");
    const written = await writer([s], 10);
    await client.setStreamMetadata(s, { truncateBefore: 6 });
    const sub = client.subscribeToStream(s);
    const w = watch(sub);
    await w.until((st) => st.caughtUps.length === 1, "caughtUp");
    assert.deepEqual(
      w.events.map((e) => e.event.revision),
      [6n, 7n, 8n, 9n],
    );
    await sub.unsubscribe();

    const all = client.subscribeToAll({ filter: streamNameFilter({ prefixes: [s] }) });
    const wa = watch(all);
    await wa.until((st) => st.caughtUps.length === 1, "$all caughtUp");
    assert.deepEqual(ids(wa.events), written.map((e) => e.id));
    await all.unsubscribe();
  });
});

describe("subscribeToAll", () => {
  it("unfiltered: catches up and goes live while a writer races the switch", async () => {
    const prefix = uniqueStream("all-race");
    const streams = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
    const history = await writer(streams, 90);
    const sub = client.subscribeToAll({ fromPosition: START });
    const w = watch(sub);
    const live = writer(streams, 300, "Tick", 90);
    const all = [...history, ...(await live)];
    const mine = (st) => st.events.filter((e) => e.event?.streamId.startsWith(prefix));
    await w.until((st) => mine(st).length >= all.length, `${all.length} of our events`);
    await sleep(300);
    await sub.unsubscribe();
    assert.equal(w.error, undefined);
    assert.deepEqual(ids(mine(w)), all.map((e) => e.id), "every event exactly once, in order");
    for (let k = 1; k < w.events.length; k++) {
      assert.ok(w.events[k].event.position.commit > w.events[k - 1].event.position.commit, "positions ascend");
    }
    assert.ok(
      w.events.some((e) => e.event.type.startsWith("$")),
      "$all from START includes system events",
    );
    assert.equal(w.confirmations, 1);
    assert.equal(w.caughtUps.length, 1);
  });

  it("filtered by stream prefix: catches up and goes live while a writer races the switch", async () => {
    const prefix = uniqueStream("all-filt");
    const ours = [`${prefix}-x`, `${prefix}-y`];
    const noise = uniqueStream("noise");
    const history = await writer([...ours, noise], 60);
    const sub = client.subscribeToAll({
      fromPosition: START,
      filter: streamNameFilter({ prefixes: [prefix] }),
    });
    const w = watch(sub);
    const live = writer([...ours, noise], 240, "Tick", 60);
    const expected = [...history, ...(await live)].filter((e) => e.stream.startsWith(prefix));
    await w.until((st) => st.events.length >= expected.length, `${expected.length} events`);
    await sleep(300);
    await sub.unsubscribe();
    assert.deepEqual(ids(w.events), expected.map((e) => e.id));
    assert.ok(w.events.every((e) => e.event.streamId.startsWith(prefix)));
    assert.equal(w.confirmations, 1);
    assert.equal(w.caughtUps.length, 1);
  });

  it("fromPosition is exclusive", async () => {
    const prefix = uniqueStream("all-from");
    const s = `${prefix}-s`;
    const r1 = await client.appendToStream(s, jsonEvent({ type: "Marker", data: { i: 0 } }));
    const r2 = await client.appendToStream(s, jsonEvent({ type: "Marker", data: { i: 1 } }));
    const sub = client.subscribeToAll({
      fromPosition: r1.position,
      filter: streamNameFilter({ prefixes: [prefix] }),
    });
    const w = watch(sub);
    await w.until((st) => st.caughtUps.length === 1, "caughtUp");
    assert.deepEqual(
      w.events.map((e) => e.event.data.i),
      [1],
    );
    assert.deepEqual(w.events[0].event.position, r2.position);
    await sub.unsubscribe();

    // Unfiltered too: the first event delivered is the one after the marker.
    const sub2 = client.subscribeToAll({ fromPosition: r1.position });
    const w2 = watch(sub2);
    await w2.until((st) => st.events.length >= 1, "an event");
    assert.deepEqual(w2.events[0].event.position, r2.position);
    await sub2.unsubscribe();
  });

  it("END delivers only new events", async () => {
    const prefix = uniqueStream("all-end");
    await writer([`${prefix}-s`], 3);
    const sub = client.subscribeToAll({ fromPosition: END });
    const w = watch(sub);
    await w.until((st) => st.caughtUps.length === 1, "caughtUp");
    assert.equal(w.events.length, 0, "nothing from before the subscription");
    const fresh = await writer([`${prefix}-s`], 4, "Tick", 10);
    await w.until(
      (st) => st.events.filter((e) => e.event.streamId.startsWith(prefix)).length === 4,
      "4 new events",
    );
    assert.deepEqual(
      ids(w.events.filter((e) => e.event.streamId.startsWith(prefix))),
      fresh.map((e) => e.id),
    );
    await sub.unsubscribe();
  });

  it("filters on event type (prefix and regex)", async () => {
    const prefix = uniqueStream("all-type");
    const typeA = `${prefix}-Alpha`;
    const typeB = `${prefix}-Beta`;
    const a = await writer([`${prefix}-s`], 5, typeA);
    await writer([`${prefix}-s`], 5, typeB, 5);
    const byPrefix = client.subscribeToAll({ filter: eventTypeFilter({ prefixes: [typeA] }) });
    const wp = watch(byPrefix);
    const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const byRegex = client.subscribeToAll({ filter: eventTypeFilter({ regex: `^${escaped}-A` }) });
    const wr = watch(byRegex);
    await wp.until((st) => st.caughtUps.length === 1, "prefix caughtUp");
    await wr.until((st) => st.caughtUps.length === 1, "regex caughtUp");
    assert.deepEqual(ids(wp.events), a.map((e) => e.id));
    assert.deepEqual(ids(wr.events), a.map((e) => e.id));
    await byPrefix.unsubscribe();
    await byRegex.unsubscribe();
  });

  it("a filter that matches nothing still reports checkpoints and caughtUp, also while live", async () => {
    const checkpoints = [];
    const noMatch = uniqueStream("nothing-matches");
    let w;
    const sub = client.subscribeToAll({
      filter: streamNameFilter({
        prefixes: [noMatch],
        maxSearchWindow: 2,
        checkpointInterval: 1,
        checkpointReached: (_s, position) => {
          checkpoints.push(position);
          w?.poke();
        },
      }),
    });
    w = watch(sub, { checkpoints });
    await w.until((st) => st.caughtUps.length === 1, "caughtUp");
    assert.equal(w.events.length, 0);
    assert.ok(checkpoints.length >= 1, "a checkpoint during catch-up");
    const atCaughtUp = checkpoints.length;
    const end = (await collect(client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })))[0];
    assert.ok(checkpoints.at(-1).commit <= end.event.position.commit);

    // Live: 12 non-matching events, one append at a time; with a window of 2 records the
    // server must keep confirming progress (KurrentDB sends a checkpoint every 2 records).
    const results = [];
    for (let i = 0; i < 12; i++) {
      results.push(await client.appendToStream(uniqueStream("live-noise"), jsonEvent({ type: "Noise", data: { i } })));
    }
    const last = results.at(-1);
    // At least one checkpoint within the last window (2 records) of the log.
    await w.until(
      () => checkpoints.length > atCaughtUp && checkpoints.at(-1).commit >= results[10].position.commit,
      "live checkpoints",
      10000,
    );
    for (let k = 1; k < checkpoints.length; k++) {
      assert.ok(checkpoints[k].commit >= checkpoints[k - 1].commit, "checkpoints never go back");
    }
    assert.ok(checkpoints.at(-1).commit <= last.position.commit);
    assert.equal(w.events.length, 0);
    assert.equal(w.caughtUps.length, 1);
    await sub.unsubscribe();
  });

  it("checkpoint cadence during catch-up: 384 matches, interval 2 x window 32 → 6 or 7 checkpoints", async () => {
    const prefix = uniqueStream("cadence");
    const marker = await client.appendToStream(`${prefix}-marker`, jsonEvent({ type: "M", data: {} }));
    for (let i = 0; i < 384; i += 64) {
      await client.appendToStream(
        `${prefix}-s`,
        Array.from({ length: 64 }, (_, k) => jsonEvent({ type: "C", data: { i: i + k } })),
      );
    }
    const checkpoints = [];
    const sub = client.subscribeToAll({
      fromPosition: marker.position,
      filter: streamNameFilter({
        prefixes: [`${prefix}-s`],
        checkpointInterval: 2,
        checkpointReached: (_s, p) => {
          checkpoints.push(p);
        },
      }),
    });
    const w = watch(sub, { checkpoints });
    await w.until((st) => st.caughtUps.length === 1 && st.events.length === 384, "384 events and caughtUp");
    await sub.unsubscribe();
    assert.deepEqual(
      w.events.map((e) => e.event.data.i),
      Array.from({ length: 384 }, (_, i) => i),
    );
    assert.ok(checkpoints.length >= 6 && checkpoints.length <= 7, `${checkpoints.length} checkpoints`);
    // A checkpoint is a position to resume from (exclusively) without missing a match.
    const resumeFrom = checkpoints[2];
    const resumed = client.subscribeToAll({
      fromPosition: resumeFrom,
      filter: streamNameFilter({ prefixes: [`${prefix}-s`] }),
    });
    const wr = watch(resumed);
    await wr.until((st) => st.caughtUps.length === 1, "caughtUp after resume");
    await resumed.unsubscribe();
    const firstAfter = w.events.findIndex((e) => e.event.position.commit > resumeFrom.commit);
    assert.deepEqual(ids(wr.events), ids(w.events.slice(firstAfter)));
  });

  it("excludeSystemEvents-style regex filter drops $ events", async () => {
    const prefix = uniqueStream("nosys");
    await client.setStreamMetadata(`${prefix}-s`, { custom: 1 });
    const written = await writer([`${prefix}-s`], 3);
    const sub = client.subscribeToAll({ filter: eventTypeFilter({ regex: "^[^$].*" }) });
    const w = watch(sub);
    await w.until((st) => st.caughtUps.length === 1, "caughtUp");
    await sub.unsubscribe();
    assert.ok(w.events.length >= 3);
    assert.ok(w.events.every((e) => !e.event.type.startsWith("$")));
    assert.deepEqual(
      ids(w.events.filter((e) => e.event.streamId === `${prefix}-s`)),
      written.map((e) => e.id),
    );
  });
});
