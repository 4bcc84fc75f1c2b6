// Soft delete, tombstone and stream metadata through the official @kurrent/kurrentdb-client
// against a real kiroku server (KurrentDB semantics; docs/protocol/kurrentdb-grpc.md 6).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  KurrentDBClient,
  jsonEvent,
  NO_STREAM,
  START,
  BACKWARDS,
  END,
  StreamNotFoundError,
  StreamDeletedError,
  streamNameFilter,
} from "@kurrent/kurrentdb-client";
import { startServer, uniqueStream } from "./harness.mjs";

async function read(client, stream, options = {}) {
  const out = [];
  for await (const r of client.readStream(stream, options)) out.push(r.event);
  return out;
}

async function rejects(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("expected a rejection");
}

const events = (n, type = "E") => Array.from({ length: n }, (_, i) => jsonEvent({ type, data: { i } }));

describe("delete, tombstone, metadata", () => {
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

  it("soft delete hides the stream; appending again continues revisions and keeps old events hidden", async () => {
    const s = uniqueStream("soft");
    await client.appendToStream(s, events(3));
    await client.setStreamMetadata(s, { custom: "keep-me" });
    await client.deleteStream(s);
    const err = await rejects(read(client, s));
    assert.ok(err instanceof StreamNotFoundError, `got ${err?.constructor?.name}: ${err?.message}`);
    const r = await client.appendToStream(s, events(2, "New"), { streamState: NO_STREAM });
    assert.equal(r.nextExpectedRevision, 4n);
    const again = await read(client, s);
    assert.deepEqual(
      again.map((e) => [e.revision, e.type]),
      [
        [3n, "New"],
        [4n, "New"],
      ],
    );
    const meta = await client.getStreamMetadata(s);
    assert.equal(BigInt(meta.metadata.truncateBefore), 3n);
    assert.equal(meta.metadata.custom, "keep-me");
    // A second no_stream append is now a conflict.
    await assert.rejects(client.appendToStream(s, events(1), { streamState: NO_STREAM }));
  });

  it("tombstone: reads, appends and metadata all fail with StreamDeletedError naming the stream", async () => {
    const s = uniqueStream("hard");
    await client.appendToStream(s, events(2));
    await client.tombstoneStream(s);
    for (const attempt of [
      () => read(client, s),
      () => client.appendToStream(s, events(1)),
      () => client.getStreamMetadata(s),
    ]) {
      const err = await rejects(attempt());
      assert.ok(err instanceof StreamDeletedError, `got ${err?.constructor?.name}: ${err?.message}`);
      // The metadata read names `$$s` (the client takes the name from its own call).
      if (err.streamName !== undefined) assert.ok([s, `$$${s}`].includes(err.streamName));
    }
    // Tombstoning a stream that never existed, expecting no stream, succeeds.
    const never = uniqueStream("never");
    await client.tombstoneStream(never, { expectedRevision: NO_STREAM, streamState: NO_STREAM });
    assert.ok((await rejects(read(client, never))) instanceof StreamDeletedError);
  });

  it("metadata round-trips with custom keys; $maxCount and $tb shape stream reads, not $all", async () => {
    const s = uniqueStream("meta");
    await client.appendToStream(s, events(20));
    await client.setStreamMetadata(s, { maxCount: 2, team: { name: "learning", size: 3 } });
    const got = await client.getStreamMetadata(s);
    assert.equal(got.metadata.maxCount, 2);
    assert.deepEqual(got.metadata.team, { name: "learning", size: 3 });
    assert.deepEqual(
      (await read(client, s)).map((e) => e.revision),
      [18n, 19n],
    );
    assert.deepEqual(
      (await read(client, s, { direction: BACKWARDS, fromRevision: END })).map((e) => e.revision),
      [19n, 18n],
    );
    await client.setStreamMetadata(s, { truncateBefore: 15 });
    assert.equal((await read(client, s)).length, 5);
    const all = [];
    for await (const r of client.readAll({ fromPosition: START, filter: streamNameFilter({ prefixes: [s] }) })) {
      if (r.event?.streamId === s) all.push(r.event);
    }
    assert.equal(all.length, 20, "$all still holds every event");
    // A stream with events but no metadata reads back as no metadata.
    const plain = uniqueStream("plain");
    await client.appendToStream(plain, events(1));
    const none = await client.getStreamMetadata(plain);
    assert.equal(none.streamName, plain);
    assert.equal(none.metadata, undefined);
  });
});
