// deleteStream, tombstoneStream and stream metadata through the official KurrentDB Node.js
// client against a real kiroku server.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  KurrentDBClient,
  jsonEvent,
  ANY,
  NO_STREAM,
  END,
  BACKWARDS,
  StreamNotFoundError,
  StreamDeletedError,
  WrongExpectedVersionError,
  streamNameFilter,
} from "@kurrent/kurrentdb-client";
import { startServer, uniqueStream } from "./harness.mjs";
import { collect, rejection, sleep } from "./append.test.mjs";

// KurrentDB's soft-delete marker: $tb = long.MaxValue. JSON.parse turns it into this double.
const DELETED_TB = 9223372036854775807;

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

const ev = (i) => jsonEvent({ type: "DelTest", data: { i } });
const appendN = (stream, from, n, options) =>
  client.appendToStream(
    stream,
    Array.from({ length: n }, (_, k) => ev(from + k)),
    options,
  );
const read = async (stream, options) => (await collect(client.readStream(stream, options))).map((e) => e.event);

describe("deleteStream (soft delete)", () => {
  it("makes reads say StreamNotFoundError and returns the delete position", async () => {
    const s = uniqueStream("soft");
    const appended = await appendN(s, 0, 3);
    const r = await client.deleteStream(s);
    assert.equal(typeof r.position.commit, "bigint");
    assert.ok(r.position.commit > appended.position.commit);
    const err = await rejection(collect(client.readStream(s)));
    assert.ok(err instanceof StreamNotFoundError, `${err}`);
    assert.equal(err.streamName, s);
    const back = await rejection(collect(client.readStream(s, { direction: BACKWARDS, fromRevision: END })));
    assert.ok(back instanceof StreamNotFoundError, `${back}`);
  });

  it("shows $tb in the metadata, keeps other keys, and a later append continues the revisions", async () => {
    const s = uniqueStream("softrecreate");
    await client.setStreamMetadata(s, { custom: "kept", maxCount: 50 });
    await appendN(s, 0, 3); // revisions 0..2
    await client.deleteStream(s, { expectedRevision: 2n });
    const deleted = await client.getStreamMetadata(s);
    assert.equal(deleted.metadata.truncateBefore, DELETED_TB);
    assert.equal(deleted.metadata.custom, "kept");
    assert.equal(deleted.metadata.maxCount, 50);

    // Only the first write after a delete may say no_stream; revisions go on from 3.
    const r = await appendN(s, 100, 2, { streamState: NO_STREAM });
    assert.equal(r.nextExpectedRevision, 4n);
    const events = await read(s);
    assert.deepEqual(
      events.map((e) => e.revision),
      [3n, 4n],
    );
    assert.deepEqual(
      events.map((e) => e.data.i),
      [100, 101],
      "the deleted events stay hidden",
    );
    const second = await rejection(appendN(s, 200, 1, { streamState: NO_STREAM }));
    assert.ok(second instanceof WrongExpectedVersionError, `${second}`);
    assert.equal(second.actualState, 4n);

    const recreated = await client.getStreamMetadata(s);
    assert.equal(recreated.metadata.truncateBefore, 3);
    assert.equal(recreated.metadata.custom, "kept");
    assert.equal(recreated.metadata.maxCount, 50);

    // $all still holds every event, deleted or not.
    const all = await collect(client.readAll({ filter: streamNameFilter({ prefixes: [s] }) }));
    assert.deepEqual(
      all.map((e) => e.event.data.i),
      [0, 1, 2, 100, 101],
    );
  });

  it("with a wrong expected revision fails with WrongExpectedVersionError and deletes nothing", async () => {
    const s = uniqueStream("softwev");
    await appendN(s, 0, 2);
    const err = await rejection(client.deleteStream(s, { expectedRevision: 5n }));
    assert.ok(err instanceof WrongExpectedVersionError, `${err}`);
    assert.equal(err.streamName, s);
    assert.equal(err.expectedState, 5n);
    assert.equal(err.actualState, 1n);
    const nostream = await rejection(client.deleteStream(s, { expectedRevision: NO_STREAM }));
    assert.ok(nostream instanceof WrongExpectedVersionError, `${nostream}`);
    // Delete errors travel as trailers; KurrentDB writes no_stream as -1 there, and the client
    // hands the number through.
    assert.equal(nostream.expectedState, -1n);
    assert.equal(nostream.actualState, 1n);
    assert.equal((await read(s)).length, 2);
    await client.deleteStream(s, { expectedRevision: 1n });
    await rejection(collect(client.readStream(s)));
  });
});

describe("tombstoneStream (hard delete)", () => {
  it("reads, appends and getStreamMetadata fail with StreamDeletedError naming the stream", async () => {
    const s = uniqueStream("hard");
    await client.setStreamMetadata(s, { custom: 1 });
    await appendN(s, 0, 2);
    const r = await client.tombstoneStream(s, { expectedRevision: 1n });
    assert.equal(typeof r.position.commit, "bigint");

    const readErr = await rejection(collect(client.readStream(s)));
    assert.ok(readErr instanceof StreamDeletedError, `${readErr}`);
    assert.equal(readErr.streamName, s);

    const appendErr = await rejection(client.appendToStream(s, ev(9)));
    assert.ok(appendErr instanceof StreamDeletedError, `${appendErr}`);
    assert.equal(appendErr.streamName, s);
    const appendErr2 = await rejection(
      client.appendToStream(s, ev(9), { credentials: { username: "admin", password: "changeit" } }),
    );
    assert.ok(appendErr2 instanceof StreamDeletedError, `${appendErr2}`);
    assert.equal(appendErr2.streamName, s);

    // getStreamMetadata reads $$stream; KurrentDB answers that read with stream-deleted too.
    const metaErr = await rejection(client.getStreamMetadata(s), "getStreamMetadata of a tombstoned stream");
    assert.ok(metaErr instanceof StreamDeletedError, `${metaErr}`);
    assert.equal(metaErr.streamName, `$$${s}`);

    const setErr = await rejection(client.setStreamMetadata(s, { custom: 2 }));
    assert.ok(setErr instanceof StreamDeletedError, `${setErr}`);

    const againErr = await rejection(client.tombstoneStream(s));
    assert.ok(againErr instanceof StreamDeletedError, `${againErr}`);
    const deleteErr = await rejection(client.deleteStream(s));
    assert.ok(deleteErr instanceof StreamDeletedError, `${deleteErr}`);
  });

  it("a missing stream can be tombstoned with no_stream, and a soft-deleted one too", async () => {
    const missing = uniqueStream("hardmissing");
    await client.tombstoneStream(missing, { expectedRevision: NO_STREAM });
    const err = await rejection(collect(client.readStream(missing)));
    assert.ok(err instanceof StreamDeletedError, `${err}`);

    const soft = uniqueStream("softthenhard");
    await appendN(soft, 0, 1);
    await client.deleteStream(soft);
    await client.tombstoneStream(soft, { expectedRevision: ANY });
    const err2 = await rejection(collect(client.readStream(soft)));
    assert.ok(err2 instanceof StreamDeletedError, `${err2}`);
  });

  it("with a wrong expected revision fails with WrongExpectedVersionError and leaves the stream", async () => {
    const s = uniqueStream("hardwev");
    await appendN(s, 0, 3);
    const err = await rejection(client.tombstoneStream(s, { expectedRevision: 0n }));
    assert.ok(err instanceof WrongExpectedVersionError, `${err}`);
    assert.equal(err.expectedState, 0n);
    assert.equal(err.actualState, 2n);
    assert.equal((await read(s)).length, 3);
  });
});

describe("stream metadata", () => {
  it("setStreamMetadata/getStreamMetadata round-trip, including ACLs and custom keys", async () => {
    const s = uniqueStream("meta");
    const empty = await client.getStreamMetadata(s);
    assert.deepEqual(empty, { streamName: s });
    await appendN(s, 0, 1);
    assert.deepEqual(await client.getStreamMetadata(s), { streamName: s }, "events but no metadata");

    const metadata = {
      maxAge: 3600,
      maxCount: 1000,
      truncateBefore: 0,
      cacheControl: 60,
      acl: { readRoles: ["$all"], writeRoles: "$admins", metaReadRoles: [], metaWriteRoles: ["ops", "dev"] },
      owner: "team-ü",
      nested: { a: [1, 2, { b: null }], flag: false },
      "$custom$": "dollar",
    };
    const r1 = await client.setStreamMetadata(s, metadata);
    assert.equal(r1.nextExpectedRevision, 0n);
    const got = await client.getStreamMetadata(s);
    assert.equal(got.streamName, s);
    assert.deepEqual(got.metadata, metadata);

    // Metadata writes honour the expected revision of $$stream. (@kurrent/kurrentdb-client
    // 1.3.1 declares `expectedRevision` for setStreamMetadata but passes the options on to
    // appendToStream, which reads `streamState`; so `streamState` is what takes effect.)
    const r2 = await client.setStreamMetadata(s, { owner: "next" }, { streamState: 0n });
    assert.equal(r2.nextExpectedRevision, 1n);
    const err = await rejection(client.setStreamMetadata(s, { owner: "x" }, { streamState: 0n }));
    assert.ok(err instanceof WrongExpectedVersionError, `${err}`);
    assert.equal(err.streamName, `$$${s}`);
    assert.equal(err.actualState, 1n);
    assert.deepEqual((await client.getStreamMetadata(s)).metadata, { owner: "next" });
  });

  it("maxCount keeps only the newest events in readStream but not in readAll", async () => {
    const s = uniqueStream("maxcount");
    await client.setStreamMetadata(s, { maxCount: 3 });
    await appendN(s, 0, 10);
    const events = await read(s);
    assert.deepEqual(
      events.map((e) => e.revision),
      [7n, 8n, 9n],
    );
    const back = await read(s, { direction: BACKWARDS, fromRevision: END, maxCount: 100 });
    assert.deepEqual(
      back.map((e) => e.revision),
      [9n, 8n, 7n],
    );
    const fromOld = await read(s, { fromRevision: 2n, maxCount: 2 });
    assert.deepEqual(
      fromOld.map((e) => e.revision),
      [7n, 8n],
    );
    const all = await collect(client.readAll({ filter: streamNameFilter({ prefixes: [s] }) }));
    assert.equal(all.length, 10);
  });

  it("truncateBefore hides earlier revisions in readStream but not in readAll", async () => {
    const s = uniqueStream("tb");
    await appendN(s, 0, 6);
    await client.setStreamMetadata(s, { truncateBefore: 4 });
    assert.deepEqual(
      (await read(s)).map((e) => e.revision),
      [4n, 5n],
    );
    assert.deepEqual(
      (await read(s, { direction: BACKWARDS, fromRevision: END })).map((e) => e.revision),
      [5n, 4n],
    );
    assert.deepEqual(
      (await read(s, { direction: BACKWARDS, fromRevision: 3n })).map((e) => e.revision),
      [],
    );
    const all = await collect(client.readAll({ filter: streamNameFilter({ prefixes: [s] }) }));
    assert.equal(all.length, 6);
    // Lifting the truncation brings the events back (nothing was scavenged).
    await client.setStreamMetadata(s, {});
    assert.equal((await read(s)).length, 6);
  });

  it("maxAge hides events older than the age in readStream but not in readAll", async () => {
    const s = uniqueStream("maxage");
    await appendN(s, 0, 3);
    await client.setStreamMetadata(s, { maxAge: 1 });
    assert.equal((await read(s)).length, 3, "young events are visible");
    await sleep(2200);
    await appendN(s, 3, 1);
    assert.deepEqual(
      (await read(s)).map((e) => e.revision),
      [3n],
    );
    const all = await collect(client.readAll({ filter: streamNameFilter({ prefixes: [s] }) }));
    assert.equal(all.length, 4);
  });

  it("metadata on a never-written stream leaves it not found", async () => {
    const s = uniqueStream("metaonly");
    await client.setStreamMetadata(s, { truncateBefore: 0, custom: true });
    const err = await rejection(collect(client.readStream(s)));
    assert.ok(err instanceof StreamNotFoundError, `${err}`);
    assert.deepEqual((await client.getStreamMetadata(s)).metadata, { truncateBefore: 0, custom: true });
  });
});
