// readStream and readAll through the official Node.js clients against a real kiroku server.
// @kurrent/kurrentdb-client reads through its native (Rust) bridge on its own HTTP/2
// connection; @eventstore/db-client 6.x reads through grpc-js. The core suite runs with both
// (this file: kurrentdb; esdb-client.test.mjs: esdb — see append.test.mjs for why separately).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { startServer, uniqueStream } from "./harness.mjs";
import { collect, rejection, loadFlavor } from "./append.test.mjs";

export function readCoreSuite(flavorName, getServer) {
  describe(`read core (${flavorName})`, () => {
    let f;
    let lib;
    let client;
    // Written once in `before`: two streams interleaved, with distinct event types.
    const prefix = uniqueStream("rd");
    const streamA = `${prefix}-alpha`;
    const streamB = `${prefix}-beta`;
    const typeA = `${prefix}-TypeA`;
    const typeB = `${prefix}-OtherB`;
    let appended; // [{stream, revision, type, i, position}] in $all order
    const N = 10;

    before(async () => {
      f = await loadFlavor(flavorName);
      lib = f.lib;
      client = f.connect(getServer());
      appended = [];
      for (let i = 0; i < N; i++) {
        const stream = i % 2 === 0 ? streamA : streamB;
        const type = i % 2 === 0 ? typeA : typeB;
        const r = await client.appendToStream(stream, lib.jsonEvent({ type, data: { i } }));
        appended.push({ stream, revision: r.nextExpectedRevision, type, i, position: r.position });
      }
    });
    after(async () => {
      await client?.dispose();
    });

    const ours = (events) =>
      events.filter((e) => e.event?.streamId === streamA || e.event?.streamId === streamB);
    const iOf = (events) => events.map((e) => e.event.data.i);

    describe("readStream", () => {
      it("forwards from start returns every event in order with positions equal to the append results", async () => {
        const events = await collect(client.readStream(streamA));
        assert.deepEqual(
          events.map((e) => e.event.revision),
          [0n, 1n, 2n, 3n, 4n],
        );
        assert.deepEqual(iOf(events), [0, 2, 4, 6, 8]);
        const expected = appended.filter((a) => a.stream === streamA);
        for (let k = 0; k < events.length; k++) {
          const e = events[k];
          assert.equal(e.event.streamId, streamA);
          assert.equal(e.event.type, typeA);
          assert.deepEqual(e.event.position, expected[k].position);
          assert.equal(typeof e.commitPosition, "bigint");
          assert.equal(e.commitPosition, expected[k].position.commit);
          assert.equal(e.link, undefined);
        }
      });

      it("backwards from END starts at the last event", async () => {
        const events = await collect(
          client.readStream(streamA, { direction: lib.BACKWARDS, fromRevision: lib.END }),
        );
        assert.deepEqual(
          events.map((e) => e.event.revision),
          [4n, 3n, 2n, 1n, 0n],
        );
      });

      it("fromRevision is inclusive in both directions", async () => {
        const fwd = await collect(client.readStream(streamA, { fromRevision: 2n }));
        assert.deepEqual(
          fwd.map((e) => e.event.revision),
          [2n, 3n, 4n],
        );
        const back = await collect(
          client.readStream(streamA, { direction: lib.BACKWARDS, fromRevision: 1n }),
        );
        assert.deepEqual(
          back.map((e) => e.event.revision),
          [1n, 0n],
        );
        const past = await collect(client.readStream(streamA, { fromRevision: 5n }));
        assert.deepEqual(past, []);
      });

      it("maxCount limits the number of events in both directions", async () => {
        const fwd = await collect(client.readStream(streamA, { fromRevision: 1n, maxCount: 2 }));
        assert.deepEqual(
          fwd.map((e) => e.event.revision),
          [1n, 2n],
        );
        const back = await collect(
          client.readStream(streamA, { direction: lib.BACKWARDS, fromRevision: lib.END, maxCount: 1 }),
        );
        assert.deepEqual(
          back.map((e) => e.event.revision),
          [4n],
        );
        const big = await collect(client.readStream(streamA, { maxCount: 1000000n }));
        assert.equal(big.length, 5);
      });

      // The KurrentDB client's native read bridge turns `fromRevision: END` into a backwards
      // read and `BACKWARDS` from START into a forwards one before anything reaches the server,
      // so these two edge cases are checked with the grpc-js client only.
      if (flavorName === "esdb") {
        it("forwards from END returns nothing; $all backwards from START returns nothing", async () => {
          const events = await collect(client.readStream(streamA, { fromRevision: lib.END }));
          assert.deepEqual(events, []);
          const none = await collect(
            client.readAll({ direction: lib.BACKWARDS, fromPosition: lib.START, maxCount: 10 }),
          );
          assert.deepEqual(none, [], "nothing lies before the start of $all");
          const fromEnd = await collect(client.readAll({ fromPosition: lib.END, maxCount: 10 }));
          assert.deepEqual(fromEnd, []);
        });
      }

      it("a missing stream fails with StreamNotFoundError naming it", async () => {
        const missing = `${prefix}-missing`;
        const err = await rejection(collect(client.readStream(missing)));
        assert.ok(err instanceof lib.StreamNotFoundError, `${err}`);
        assert.equal(err.streamName, missing);
        const back = await rejection(
          collect(client.readStream(missing, { direction: lib.BACKWARDS, fromRevision: lib.END })),
        );
        assert.ok(back instanceof lib.StreamNotFoundError, `${back}`);
      });

      it("a tombstoned stream fails with StreamDeletedError naming it", async () => {
        const s = `${prefix}-tombstoned`;
        await client.appendToStream(s, lib.jsonEvent({ type: "x", data: {} }));
        await client.tombstoneStream(s);
        const err = await rejection(collect(client.readStream(s)));
        assert.ok(err instanceof lib.StreamDeletedError, `${err}`);
        assert.equal(err.streamName, s);
      });

      it("resolveLinkTos resolves a $> link to its target", async () => {
        const links = `${prefix}-links`;
        await client.appendToStream(
          links,
          lib.binaryEvent({ type: "$>", data: Buffer.from(`3@${streamA}`) }),
        );
        const [resolved] = await collect(client.readStream(links, { resolveLinkTos: true }));
        const [direct] = await collect(client.readStream(streamA, { fromRevision: 3n, maxCount: 1 }));
        assert.equal(resolved.event.streamId, streamA);
        assert.equal(resolved.event.revision, 3n);
        assert.equal(resolved.event.id, direct.event.id);
        assert.deepEqual(resolved.event.data, direct.event.data);
        assert.deepEqual(resolved.event.position, direct.event.position);
        assert.equal(resolved.link.type, "$>");
        assert.equal(resolved.link.streamId, links);
        const [unresolved] = await collect(client.readStream(links));
        assert.equal(unresolved.event.type, "$>");
        assert.equal(unresolved.link, undefined);
      });
    });

    describe("readAll", () => {
      it("forwards from START holds our events in append order, after system events", async () => {
        const all = await collect(client.readAll());
        const mine = ours(all);
        assert.deepEqual(iOf(mine), appended.map((a) => a.i));
        assert.ok(
          all.some((e) => e.event?.type.startsWith("$")),
          "a kiroku $all holds system events, as KurrentDB's does",
        );
        for (let k = 1; k < all.length; k++) {
          assert.ok(all[k].event.position.commit > all[k - 1].event.position.commit, "positions ascend");
        }
        for (const e of mine) {
          assert.deepEqual(e.event.position, appended[e.event.data.i].position);
          assert.equal(e.commitPosition, e.event.position.commit);
        }
      });

      it("backwards from END starts with the newest event", async () => {
        const s = `${prefix}-newest`;
        const r = await client.appendToStream(s, lib.jsonEvent({ type: "newest", data: {} }));
        const [first] = await collect(
          client.readAll({ direction: lib.BACKWARDS, fromPosition: lib.END, maxCount: 1 }),
        );
        assert.equal(first.event.streamId, s);
        assert.deepEqual(first.event.position, r.position);
        const some = await collect(
          client.readAll({ direction: lib.BACKWARDS, fromPosition: lib.END, maxCount: 5 }),
        );
        assert.equal(some.length, 5);
        for (let k = 1; k < some.length; k++) {
          assert.ok(some[k].event.position.commit < some[k - 1].event.position.commit, "positions descend");
        }
      });

      it("maxCount limits readAll", async () => {
        const three = await collect(client.readAll({ maxCount: 3 }));
        assert.equal(three.length, 3);
        const all = await collect(client.readAll());
        assert.deepEqual(
          three.map((e) => e.event.id),
          all.slice(0, 3).map((e) => e.event.id),
        );
      });

      it("forwards fromPosition is inclusive of the event at that position", async () => {
        const at = appended[3];
        const events = await collect(client.readAll({ fromPosition: at.position, maxCount: 3 }));
        assert.equal(events.length, 3);
        assert.equal(events[0].event.streamId, at.stream);
        assert.equal(events[0].event.revision, at.revision);
        assert.deepEqual(events[0].event.position, at.position);
        assert.deepEqual(iOf(events), [3, 4, 5]);
      });

      it("backwards fromPosition returns the events before that position", async () => {
        const at = appended[5];
        const events = await collect(
          client.readAll({ direction: lib.BACKWARDS, fromPosition: at.position, maxCount: 3 }),
        );
        assert.deepEqual(iOf(events), [4, 3, 2]);
      });

      // readAll filters: @eventstore/db-client 6.2.1's readAll has no `filter` option (the
      // grpc-js client sends no_filter), so these run with the KurrentDB client only.
      if (flavorName === "kurrentdb") {
        it("streamNameFilter with prefixes keeps only the matching streams", async () => {
          const events = await collect(
            client.readAll({ filter: lib.streamNameFilter({ prefixes: [`${prefix}-alp`, `${prefix}-nope`] }) }),
          );
          assert.ok(events.length >= 5);
          assert.ok(events.every((e) => e.event.streamId.startsWith(`${prefix}-alp`)), "only alpha");
          assert.deepEqual(iOf(events).slice(0, 5), [0, 2, 4, 6, 8]);
        });

        it("streamNameFilter with a regex keeps only the matching streams", async () => {
          const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
          const events = await collect(
            client.readAll({ filter: lib.streamNameFilter({ regex: `^${escaped}-(alpha|beta)$` }) }),
          );
          assert.deepEqual(iOf(events), appended.map((a) => a.i));
          const backwards = await collect(
            client.readAll({
              direction: lib.BACKWARDS,
              fromPosition: lib.END,
              maxCount: 2,
              filter: lib.streamNameFilter({ regex: `^${escaped}-beta$` }),
            }),
          );
          assert.deepEqual(iOf(backwards), [9, 7]);
        });

        it("eventTypeFilter with prefixes and with a regex", async () => {
          const byPrefix = await collect(
            client.readAll({ filter: lib.eventTypeFilter({ prefixes: [typeB] }) }),
          );
          assert.deepEqual(iOf(byPrefix), [1, 3, 5, 7, 9]);
          const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
          const byRegex = await collect(
            client.readAll({ filter: lib.eventTypeFilter({ regex: `^${escaped}-Type` }) }),
          );
          assert.deepEqual(iOf(byRegex), [0, 2, 4, 6, 8]);
          const limited = await collect(
            client.readAll({ maxCount: 2, filter: lib.eventTypeFilter({ prefixes: [typeA, typeB] }) }),
          );
          assert.deepEqual(iOf(limited), [0, 1]);
        });

        it("excludeSystemEvents drops every $-typed event and keeps ours", async () => {
          await client.setStreamMetadata(`${prefix}-alpha`, { custom: 1 }); // writes a $metadata event
          const events = await collect(client.readAll({ filter: lib.excludeSystemEvents() }));
          assert.ok(events.length >= N);
          assert.ok(events.every((e) => !e.event.type.startsWith("$")), "no system events");
          assert.deepEqual(iOf(ours(events)), appended.map((a) => a.i));
          const unfiltered = await collect(client.readAll());
          assert.ok(unfiltered.some((e) => e.event.type === "$metadata"));
        });
      }
    });
  });
}

const isMain = process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url;

if (isMain) {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  readCoreSuite("kurrentdb", () => server);

  describe("read (kurrentdb client only)", () => {
    let lib;
    let client;
    before(async () => {
      lib = await import("@kurrent/kurrentdb-client");
      client = lib.KurrentDBClient.connectionString(server.url);
    });
    after(async () => client?.dispose());

    it("reads a stream longer than one server page (256) completely and in order", async () => {
      const s = uniqueStream("long");
      const n = 700;
      for (let i = 0; i < n; i += 100) {
        await client.appendToStream(
          s,
          Array.from({ length: 100 }, (_, k) => lib.jsonEvent({ type: "L", data: { i: i + k } })),
        );
      }
      const fwd = await collect(client.readStream(s));
      assert.deepEqual(
        fwd.map((e) => e.event.data.i),
        Array.from({ length: n }, (_, i) => i),
      );
      const back = await collect(client.readStream(s, { direction: lib.BACKWARDS, fromRevision: lib.END }));
      assert.deepEqual(
        back.map((e) => e.event.data.i),
        Array.from({ length: n }, (_, i) => n - 1 - i),
      );
      const window = await collect(client.readStream(s, { fromRevision: 250n, maxCount: 300 }));
      assert.deepEqual(
        window.map((e) => Number(e.event.revision)),
        Array.from({ length: 300 }, (_, i) => 250 + i),
      );
      const filtered = await collect(
        client.readAll({ filter: lib.streamNameFilter({ prefixes: [s] }), maxCount: 600 }),
      );
      assert.equal(filtered.length, 600);
    });

    it("reading a soft-deleted stream says StreamNotFoundError", async () => {
      const s = uniqueStream("softdel");
      await client.appendToStream(s, lib.jsonEvent({ type: "x", data: {} }));
      await client.deleteStream(s);
      const err = await rejection(collect(client.readStream(s)));
      assert.ok(err instanceof lib.StreamNotFoundError, `${err}`);
    });
  });
}
