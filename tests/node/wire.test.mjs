// Bad input and misbehaving clients over the wire: the client gets the documented error and
// the server keeps serving; nothing acknowledged is lost across a crash and restart.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { KurrentDBClient, jsonEvent, binaryEvent, START, MaxAppendSizeExceededError } from "@kurrent/kurrentdb-client";
import { startServer, uniqueStream } from "./harness.mjs";

async function health(server) {
  const res = await fetch(`${server.httpUrl}/health/live`);
  return res.status;
}

async function metric(server, name) {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

async function readAllOf(client, stream) {
  const out = [];
  for await (const r of client.readStream(stream)) out.push(r.event);
  return out;
}

describe("wire errors and misbehaving clients", () => {
  let server;
  let client;
  before(async () => {
    server = await startServer({ extraArgs: ["--max-append-size", "1048576"], keepData: true });
    client = KurrentDBClient.connectionString(server.url);
  });
  after(async () => {
    await client?.dispose();
    await server?.stop({ removeData: true });
  });

  it("an append over the maximum append size is MaxAppendSizeExceededError; the server keeps serving", async () => {
    const s = uniqueStream("big");
    const many = Array.from({ length: 40 }, (_, i) =>
      jsonEvent({ type: "Big", data: { i, pad: "x".repeat(40000) } }),
    );
    await assert.rejects(client.appendToStream(s, many), (e) => {
      assert.ok(e instanceof MaxAppendSizeExceededError, `got ${e?.constructor?.name}: ${e?.message}`);
      return true;
    });
    const huge = binaryEvent({ type: "Huge", data: new Uint8Array(18 * 1024 * 1024) });
    await assert.rejects(client.appendToStream(s, huge));
    const ok = await client.appendToStream(s, jsonEvent({ type: "Small", data: {} }));
    assert.equal(ok.nextExpectedRevision, 0n, "nothing from the rejected appends was written");
    assert.equal(await health(server), 204);
  });

  it("a client killed mid-append and a dropped subscription leave the server serving", async () => {
    const s = uniqueStream("killed");
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { KurrentDBClient, jsonEvent } from "@kurrent/kurrentdb-client";
         const c = KurrentDBClient.connectionString(${JSON.stringify(server.url)});
         let i = 0;
         for (;;) {
           await Promise.all(Array.from({ length: 16 }, () =>
             c.appendToStream(${JSON.stringify(s)}, jsonEvent({ type: "T", data: { i: i++ } }))));
           process.stdout.write(".");
         }`,
      ],
      { cwd: import.meta.dirname, stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise((resolve) => child.stdout.once("data", resolve));
    await new Promise((r) => setTimeout(r, 200));
    child.kill("SIGKILL");
    await new Promise((resolve) => child.on("exit", resolve));

    const sub = client.subscribeToAll({ fromPosition: START });
    const caughtUp = new Promise((resolve) => sub.on("caughtUp", resolve));
    (async () => {
      for await (const _ of sub) {
        /* a subscription only flows while it is consumed */
      }
    })().catch(() => {});
    await caughtUp;
    assert.ok((await metric(server, "kiroku_subscriptions_active")) >= 1);
    await sub.unsubscribe();

    const before = (await readAllOf(client, s)).length;
    const r = await client.appendToStream(s, jsonEvent({ type: "After", data: {} }));
    assert.equal(r.nextExpectedRevision, BigInt(before));
    assert.equal(await health(server), 204);
    // The dropped subscription is released on the server.
    for (let k = 0; k < 50 && (await metric(server, "kiroku_subscriptions_active")) !== 0; k++) {
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(await metric(server, "kiroku_subscriptions_active"), 0);
  });

  it("every acknowledged append survives a server SIGKILL and restart", async () => {
    const s = uniqueStream("durable");
    const acked = [];
    const appends = Array.from({ length: 64 }, (_, i) =>
      client
        .appendToStream(s, jsonEvent({ type: "D", data: { i } }))
        .then(() => acked.push(i))
        .catch(() => {}),
    );
    await new Promise((r) => setTimeout(r, 30));
    await server.kill();
    await Promise.all(appends);
    await client.dispose();
    server = await startServer({
      dataDir: server.dataDir,
      extraArgs: ["--max-append-size", "1048576"],
      keepData: true,
    });
    client = KurrentDBClient.connectionString(server.url);
    const stored = new Set((await readAllOf(client, s).catch(() => [])).map((e) => e.data.i));
    for (const i of acked) assert.ok(stored.has(i), `acknowledged append ${i} lost`);
  });
});
