// Persistent subscriptions (consumer groups) through the official @kurrent/kurrentdb-client
// against a real kiroku server: the three consumer strategies, members that die or hang
// with events in flight, nack retry/park/skip, parking and replay, checkpoints across a
// server crash and a clean restart, reset (kiroku CLI), $all groups with filters, the admin
// calls and bad input.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import { promisify } from "node:util";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  KurrentDBClient,
  jsonEvent,
  START,
  END,
  ROUND_ROBIN,
  PINNED,
  DISPATCH_TO_SINGLE,
  PINNED_BY_CORRELATION,
  streamNameFilter,
  persistentSubscriptionToStreamSettingsFromDefaults as streamSettings,
  persistentSubscriptionToAllSettingsFromDefaults as allSettings,
  PersistentSubscriptionExistsError,
  PersistentSubscriptionDoesNotExistError,
  PersistentSubscriptionMaximumSubscribersReachedError,
} from "@kurrent/kurrentdb-client";
import { startServer, uniqueStream, tempDataDir, KIROKU_BIN } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, cond, ms = 20000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await cond()) return;
    await sleep(25);
  }
  assert.fail(`timed out waiting for ${what}`);
}

// A member: records what it receives and handles each event with `onEvent`
// (default: ack). `all` joins the $all group `group`.
class Member {
  constructor(client, stream, group, { bufferSize = 10, all = false, onEvent } = {}) {
    this.received = [];
    this.errors = [];
    this.sub = all
      ? client.subscribeToPersistentSubscriptionToAll(group, { bufferSize })
      : client.subscribeToPersistentSubscriptionToStream(stream, group, { bufferSize });
    this.confirmed = new Promise((resolve) => this.sub.once("confirmation", resolve));
    this.onEvent = onEvent ?? ((ev, sub) => sub.ack(ev));
    this.sub.on("error", (e) => this.errors.push(e));
    this.sub.on("data", (ev) => {
      this.received.push(ev);
      Promise.resolve(this.onEvent(ev, this.sub, this)).catch((e) => this.errors.push(e));
    });
  }
  revisions() {
    return this.received.map((ev) => Number(ev.event.revision));
  }
  async stop() {
    await this.sub.unsubscribe();
  }
}

async function appendN(client, stream, n, data = (i) => ({ i })) {
  const events = [];
  for (let i = 0; i < n; i++) events.push(jsonEvent({ type: "Tick", data: data(i) }));
  await client.appendToStream(stream, events);
}

const range = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);

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

describe("consumer strategies", () => {
  it("round robin spreads events evenly over 3 members, each event once", async () => {
    const s = uniqueStream("rr");
    await client.createPersistentSubscriptionToStream(
      s,
      "g",
      streamSettings({ startFrom: START, consumerStrategyName: ROUND_ROBIN }),
    );
    const members = [0, 1, 2].map(() => new Member(client, s, "g", { bufferSize: 20 }));
    await Promise.all(members.map((m) => m.confirmed));
    await appendN(client, s, 30);
    await waitFor("30 deliveries", () => members.reduce((n, m) => n + m.received.length, 0) >= 30);
    await sleep(200); // nothing more should arrive
    assert.deepEqual(
      members.map((m) => m.received.length),
      [10, 10, 10],
    );
    const all = members.flatMap((m) => m.revisions()).sort((a, b) => a - b);
    assert.deepEqual(all, range(0, 30));
    for (const m of members) await m.stop();
  });

  it("pinned keeps each stream on one member, in order, and uses more than one member", async () => {
    const prefix = uniqueStream("pin") + "-";
    await client.createPersistentSubscriptionToAll(
      "pinned",
      allSettings({ startFrom: START, consumerStrategyName: PINNED }),
      { filter: streamNameFilter({ prefixes: [prefix] }) },
    );
    const members = [0, 1, 2].map(() => new Member(client, null, "pinned", { all: true, bufferSize: 200 }));
    await Promise.all(members.map((m) => m.confirmed));
    const streams = range(0, 12).map((i) => `${prefix}${i}`);
    for (let round = 0; round < 5; round++) {
      for (const st of streams) await client.appendToStream(st, jsonEvent({ type: "T", data: { round } }));
    }
    await waitFor("60 deliveries", () => members.reduce((n, m) => n + m.received.length, 0) >= 60);
    const owner = new Map();
    members.forEach((m, idx) => {
      const seen = new Map();
      for (const ev of m.received) {
        const st = ev.event.streamId;
        assert.ok(st.startsWith(prefix), `filter let ${st} through`);
        if (owner.has(st)) assert.equal(owner.get(st), idx, `${st} went to two members`);
        owner.set(st, idx);
        const last = seen.get(st) ?? -1;
        assert.equal(Number(ev.event.revision), last + 1, `${st} out of order`);
        seen.set(st, last + 1);
      }
    });
    assert.equal(owner.size, 12);
    assert.ok(new Set(owner.values()).size > 1, "every stream was pinned to the same member");
    for (const m of members) await m.stop();
  });

  it("dispatch to single sends to the first member while it has room, then to the next", async () => {
    const s = uniqueStream("single");
    await client.createPersistentSubscriptionToStream(
      s,
      "g",
      streamSettings({ startFrom: START, consumerStrategyName: DISPATCH_TO_SINGLE }),
    );
    const first = new Member(client, s, "g", { bufferSize: 50 });
    await first.confirmed;
    const second = new Member(client, s, "g", { bufferSize: 50 });
    await second.confirmed;
    await appendN(client, s, 20);
    await waitFor("20 deliveries", () => first.received.length + second.received.length >= 20);
    assert.equal(first.received.length, 20);
    assert.equal(second.received.length, 0);
    await first.stop();
    await second.stop();

    // A first member that holds its 5 slots and never acks: the rest go to the second.
    const s2 = uniqueStream("single-full");
    await client.createPersistentSubscriptionToStream(
      s2,
      "g",
      streamSettings({ startFrom: START, consumerStrategyName: DISPATCH_TO_SINGLE }),
    );
    const hog = new Member(client, s2, "g", { bufferSize: 5, onEvent: () => {} });
    await hog.confirmed;
    const other = new Member(client, s2, "g", { bufferSize: 50 });
    await other.confirmed;
    await appendN(client, s2, 12);
    await waitFor("12 deliveries", () => hog.received.length + other.received.length >= 12);
    assert.deepEqual(hog.revisions(), range(0, 5));
    assert.deepEqual(other.revisions(), range(5, 12));
    await hog.stop();
    await other.stop();
  });
});

describe("delivery", () => {
  it("a member that acks nothing still receives a whole buffer of events (no stalled write)", async () => {
    // Deliveries are written with a buffer hint while more are queued; the last of a burst
    // must flush them all even when the client sends nothing back.
    const s = uniqueStream("burst");
    await client.createPersistentSubscriptionToStream(s, "g", streamSettings({ startFrom: START }));
    const m = new Member(client, s, "g", { bufferSize: 700, onEvent: () => {} });
    await m.confirmed;
    await appendN(client, s, 700);
    await waitFor("700 deliveries", () => m.received.length >= 700);
    assert.deepEqual(m.revisions(), range(0, 700));
    await m.stop();
  });
});

describe("members that fail", () => {
  it("a member SIGKILLed with unacked events: another member gets them, none lost", async () => {
    const s = uniqueStream("killed");
    await client.createPersistentSubscriptionToStream(
      s,
      "g",
      streamSettings({ startFrom: START, messageTimeout: 60000 }),
    );
    const child = spawn(process.execPath, [join(here, "persistent-member.mjs"), server.url, s, "g", "10"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    await waitFor("the child member to join", () => out.includes("confirmed"));
    await appendN(client, s, 10);
    await waitFor("the child to hold 10 events", () => out.split("\n").filter((l) => l.includes("revision")).length >= 10);
    const exited = new Promise((r) => child.on("exit", r));
    child.kill("SIGKILL");
    await exited;

    const survivor = new Member(client, s, "g", { bufferSize: 10 });
    await survivor.confirmed;
    await waitFor("redelivery of the 10", () => survivor.received.length >= 10);
    assert.deepEqual(survivor.revisions().sort((a, b) => a - b), range(0, 10));
    for (const ev of survivor.received) assert.ok(ev.retryCount >= 1, "a redelivery counts as a retry");
    await appendN(client, s, 5);
    await waitFor("the new events", () => survivor.received.length >= 15);
    assert.deepEqual(survivor.revisions().slice(10).sort((a, b) => a - b), range(10, 15));
    await waitFor("every event acked", async () => {
      const info = await client.getPersistentSubscriptionToStreamInfo(s, "g");
      return info.stats.totalInFlightMessages === 0;
    });
    await survivor.stop();
  });

  it("events a member holds past the message timeout go to another member", async () => {
    const s = uniqueStream("timeout");
    await client.createPersistentSubscriptionToStream(
      s,
      "g",
      streamSettings({ startFrom: START, messageTimeout: 400, maxRetryCount: 50 }),
    );
    const hung = new Member(client, s, "g", { bufferSize: 5, onEvent: () => {} });
    await hung.confirmed;
    await appendN(client, s, 5);
    await waitFor("the hung member to hold 5", () => hung.received.length >= 5);
    const worker = new Member(client, s, "g", { bufferSize: 10 });
    await worker.confirmed;
    await waitFor("the worker to get all 5", () => new Set(worker.revisions()).size >= 5, 30000);
    assert.deepEqual([...new Set(worker.revisions())].sort((a, b) => a - b), range(0, 5));
    assert.ok(worker.received.every((ev) => ev.retryCount >= 1));
    await hung.stop();
    await worker.stop();
  });
});

describe("nack, park and replay", () => {
  it("retries up to max retry count, then parks; replay parked delivers it again", async () => {
    const s = uniqueStream("retry");
    await client.createPersistentSubscriptionToStream(
      s,
      "g",
      streamSettings({ startFrom: START, maxRetryCount: 2 }),
    );
    let poisonous = true;
    const m = new Member(client, s, "g", {
      onEvent: (ev, sub) =>
        ev.event.data.poison && poisonous ? sub.nack("retry", "cannot handle", ev) : sub.ack(ev),
    });
    await m.confirmed;
    await appendN(client, s, 3, (i) => ({ i, poison: i === 1 }));
    await waitFor("the poison event parked", async () => {
      const info = await client.getPersistentSubscriptionToStreamInfo(s, "g");
      return info.stats.parkedMessageCount === 1n;
    });
    const poison = m.received.filter((ev) => ev.event.data.poison);
    assert.deepEqual(
      poison.map((ev) => ev.retryCount),
      [0, 1, 2],
      "delivered once and retried twice",
    );
    // The parked stream holds a link to it.
    const parked = [];
    for await (const ev of client.readStream(`$persistentsubscription-${s}::g-parked`)) parked.push(ev);
    assert.equal(parked.length, 1);
    assert.equal(parked[0].event.type, "$>");
    assert.equal(parked[0].event.data.toString(), `1@${s}`);

    poisonous = false;
    await client.replayParkedMessagesToStream(s, "g");
    await waitFor("the replay", () => m.received.filter((ev) => ev.event.data.poison).length >= 4);
    const replayed = m.received.filter((ev) => ev.event.data.poison)[3];
    assert.equal(Number(replayed.event.revision), 1);
    assert.equal(replayed.link?.type, "$>");
    await waitFor("the parked count back to 0", async () => {
      const info = await client.getPersistentSubscriptionToStreamInfo(s, "g");
      return info.stats.parkedMessageCount === 0n;
    });
    await m.stop();
  });

  it("nack park parks at once, nack skip drops, replay parked with stopAt replays only some", async () => {
    const s = uniqueStream("park");
    await client.createPersistentSubscriptionToStream(s, "g", streamSettings({ startFrom: START }));
    let mode = "nack";
    const m = new Member(client, s, "g", {
      onEvent: (ev, sub) => {
        if (mode === "ack") return sub.ack(ev);
        return sub.nack(ev.event.data.i < 3 ? "park" : "skip", "test", ev);
      },
    });
    await m.confirmed;
    await appendN(client, s, 5);
    await waitFor("3 parked", async () => {
      const info = await client.getPersistentSubscriptionToStreamInfo(s, "g");
      return info.stats.parkedMessageCount === 3n;
    });
    await sleep(300);
    assert.equal(m.received.length, 5, "parked and skipped events are not redelivered");
    mode = "ack";
    await client.replayParkedMessagesToStream(s, "g", { stopAt: 2 });
    await waitFor("2 replayed", () => m.received.length >= 7);
    await sleep(300);
    assert.equal(m.received.length, 7);
    assert.deepEqual(m.revisions().slice(5), [0, 1]);
    await waitFor("1 left parked", async () => {
      const info = await client.getPersistentSubscriptionToStreamInfo(s, "g");
      return info.stats.parkedMessageCount === 1n;
    });
    await m.stop();
  });
});

describe("checkpoints and restarts", () => {
  it("after a server crash the group resumes from its checkpoint: nothing lost, nothing acked before it again", async () => {
    const dataDir = tempDataDir();
    let srv = await startServer({ dataDir, keepData: true });
    let c = KurrentDBClient.connectionString(srv.url);
    const s = uniqueStream("crash");
    await c.createPersistentSubscriptionToStream(
      s,
      "g",
      streamSettings({ startFrom: START, checkPointLowerBound: 1, checkPointUpperBound: 1 }),
    );
    await appendN(c, s, 100);
    const m = new Member(c, s, "g", {
      bufferSize: 10,
      onEvent: (ev, sub) => (Number(ev.event.revision) < 50 ? sub.ack(ev) : undefined),
    });
    await m.confirmed;
    await waitFor("checkpoint at 49", async () => {
      const info = await c.getPersistentSubscriptionToStreamInfo(s, "g");
      return info.stats.lastCheckpointedEventRevision === 49n;
    });
    await srv.kill();
    await c.dispose();

    srv = await startServer({ dataDir });
    c = KurrentDBClient.connectionString(srv.url);
    const again = new Member(c, s, "g", { bufferSize: 20 });
    await again.confirmed;
    await waitFor("events 50..99", () => new Set(again.revisions()).size >= 50);
    assert.equal(Math.min(...again.revisions()), 50, "an event acked before the checkpoint came again");
    assert.deepEqual([...new Set(again.revisions())].sort((a, b) => a - b), range(50, 100));
    await again.stop();
    await c.dispose();
    await srv.stop();
  });

  it("a clean restart writes the checkpoint on the way down: no redelivery", async () => {
    const dataDir = tempDataDir();
    let srv = await startServer({ dataDir, keepData: true });
    let c = KurrentDBClient.connectionString(srv.url);
    const s = uniqueStream("clean");
    await c.createPersistentSubscriptionToStream(
      s,
      "g",
      // Counts no ack stream can reach: only the shutdown writes a checkpoint.
      streamSettings({ startFrom: START, checkPointLowerBound: 1000, checkPointUpperBound: 1000, checkPointAfter: 600000 }),
    );
    await appendN(c, s, 60);
    const m = new Member(c, s, "g", {
      bufferSize: 10,
      onEvent: (ev, sub) => (Number(ev.event.revision) < 30 ? sub.ack(ev) : undefined),
    });
    await m.confirmed;
    await waitFor("30 acked", async () => {
      const info = await c.getPersistentSubscriptionToStreamInfo(s, "g");
      return m.received.length >= 40 && info.stats.totalInFlightMessages === 10;
    });
    const info = await c.getPersistentSubscriptionToStreamInfo(s, "g");
    assert.equal(info.stats.lastCheckpointedEventRevision, undefined, "no checkpoint before the stop");
    await c.dispose();
    const status = await srv.stop({ removeData: false });
    assert.equal(status.code, 0);

    srv = await startServer({ dataDir });
    c = KurrentDBClient.connectionString(srv.url);
    const again = new Member(c, s, "g", { bufferSize: 40 });
    await again.confirmed;
    await waitFor("events 30..59", () => again.received.length >= 30);
    assert.deepEqual(again.revisions().sort((a, b) => a - b), range(30, 60));
    await again.stop();
    await c.dispose();
    await srv.stop();
  });

  it("kiroku group reset reprocesses from a revision and from a time", async () => {
    const s = uniqueStream("reset");
    await client.createPersistentSubscriptionToStream(s, "g", streamSettings({ startFrom: START }));
    await appendN(client, s, 10);
    await sleep(30);
    await appendN(client, s, 10);
    const m = new Member(client, s, "g", { bufferSize: 50 });
    await m.confirmed;
    await waitFor("20 events", () => m.received.length >= 20);
    const cli = (args) => run(KIROKU_BIN, ["group", ...args, "--url", server.esdbUrl, "--stream", s, "--group", "g"]);
    const out = await cli(["reset", "--to", "revision:5"]);
    assert.match(out.stdout, /resumes at revision 5/);
    await waitFor("reprocessing from 5", () => m.received.length >= 35);
    assert.deepEqual(m.revisions().slice(20, 35), range(5, 20));

    const ten = m.received.find((ev) => Number(ev.event.revision) === 10).event.created;
    const byTime = await cli(["reset", "--to", `time:${ten.getTime()}`]);
    assert.match(byTime.stdout, /resumes at revision 10/);
    await waitFor("reprocessing from 10", () => m.received.length >= 45);
    assert.deepEqual(m.revisions().slice(35, 45), range(10, 20));
    await m.stop();
  });
});

describe("reset of a $all group", () => {
  it("kiroku group reset --all --to position:P reprocesses from that event", async () => {
    const prefix = uniqueStream("resetall") + "-";
    const group = uniqueStream("resetall-g");
    await client.createPersistentSubscriptionToAll(group, allSettings({ startFrom: START }), {
      filter: streamNameFilter({ prefixes: [prefix] }),
    });
    const m = new Member(client, null, group, { all: true, bufferSize: 50 });
    await m.confirmed;
    for (let i = 0; i < 6; i++) await client.appendToStream(`${prefix}${i % 2}`, jsonEvent({ type: "T", data: { i } }));
    await waitFor("6 events", () => m.received.length >= 6);
    const third = m.received[3].event.position.commit;
    const out = await run(KIROKU_BIN, ["group", "reset", "--url", server.esdbUrl, "--all", "--group", group, "--to", `position:${third}`]);
    assert.match(out.stdout, new RegExp(`resumes at position ${third}`));
    await waitFor("events 3..5 again", () => m.received.length >= 9);
    assert.deepEqual(
      m.received.slice(6).map((ev) => ev.event.data.i),
      [3, 4, 5],
    );
    await m.stop();
  });
});

describe("administration", () => {
  it("$all groups with a filter: info, list, update, restart subsystem and delete", async () => {
    const prefix = uniqueStream("admin") + "-";
    const group = uniqueStream("allgroup");
    await client.createPersistentSubscriptionToAll(
      group,
      allSettings({ startFrom: START, maxRetryCount: 7 }),
      { filter: streamNameFilter({ prefixes: [prefix] }) },
    );
    const m = new Member(client, null, group, { all: true });
    await m.confirmed;
    await client.appendToStream(`${prefix}a`, jsonEvent({ type: "T", data: {} }));
    await client.appendToStream(uniqueStream("other"), jsonEvent({ type: "T", data: {} }));
    await client.appendToStream(`${prefix}b`, jsonEvent({ type: "T", data: {} }));
    await waitFor("2 filtered events", () => m.received.length >= 2);
    await sleep(200);
    assert.deepEqual(m.received.map((ev) => ev.event.streamId), [`${prefix}a`, `${prefix}b`]);

    const info = await client.getPersistentSubscriptionToAllInfo(group);
    assert.equal(info.eventSource, "$all");
    assert.equal(info.groupName, group);
    assert.equal(info.settings.maxRetryCount, 7);
    assert.equal(info.settings.startFrom, START);
    assert.equal(info.connections.length, 1);
    const listed = await client.listPersistentSubscriptionsToAll();
    assert.ok(listed.some((i) => i.groupName === group));
    const everything = await client.listAllPersistentSubscriptions();
    assert.ok(everything.some((i) => i.groupName === group && i.eventSource === "$all"));

    await client.updatePersistentSubscriptionToAll(group, allSettings({ startFrom: START, maxRetryCount: 3 }));
    await waitFor("the member dropped by the update", () => m.errors.length > 0 || m.sub.destroyed);
    const updated = await client.getPersistentSubscriptionToAllInfo(group);
    assert.equal(updated.settings.maxRetryCount, 3);
    // The filter and the checkpoint survive the update: a new member gets only new matches.
    const m2 = new Member(client, null, group, { all: true });
    await m2.confirmed;
    await client.appendToStream(`${prefix}c`, jsonEvent({ type: "T", data: {} }));
    await waitFor("the new event", () => m2.received.some((ev) => ev.event.streamId === `${prefix}c`));
    assert.ok(m2.received.every((ev) => ev.event.streamId.startsWith(prefix)));

    await client.restartPersistentSubscriptionSubsystem();
    await waitFor("the member dropped by the restart", () => m2.errors.length > 0 || m2.sub.destroyed);

    const stats = await (await fetch(`${server.httpUrl}/stats`)).json();
    const g = stats.groups.find((x) => x.group === group);
    assert.ok(g, "the group is in /stats");
    assert.equal(g.source, "$all");
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    assert.match(metrics, new RegExp(`kiroku_group_lag_events\\{source="\\$all",group="${group}"\\} \\d+`));

    await client.deletePersistentSubscriptionToAll(group);
    await assert.rejects(client.getPersistentSubscriptionToAllInfo(group), PersistentSubscriptionDoesNotExistError);
  });

  it("stream groups: list per stream, info figures, lag in /stats", async () => {
    const s = uniqueStream("lag");
    await client.createPersistentSubscriptionToStream(s, "g1", streamSettings({ startFrom: START }));
    await client.createPersistentSubscriptionToStream(s, "g2", streamSettings({ startFrom: END }));
    await appendN(client, s, 7);
    const list = await client.listPersistentSubscriptionsToStream(s);
    assert.deepEqual(list.map((i) => i.groupName).sort(), ["g1", "g2"]);
    const info = await client.getPersistentSubscriptionToStreamInfo(s, "g1");
    assert.equal(info.settings.startFrom, START);
    assert.equal(info.settings.consumerStrategyName, ROUND_ROBIN);
    const stats = await (await fetch(`${server.httpUrl}/stats`)).json();
    const g1 = stats.groups.find((x) => x.source === s && x.group === "g1");
    assert.equal(g1.lag_events, 7);
    assert.ok(g1.lag_seconds >= 0);
    const cli = await run(KIROKU_BIN, ["group", "list", "--url", server.esdbUrl, "--stream", s, "--json"]);
    assert.deepEqual(JSON.parse(cli.stdout).map((i) => i.group).sort(), ["g1", "g2"]);
  });
});

describe("bad input", () => {
  it("unknown groups, duplicate groups, invalid settings and too many members get clear errors", async () => {
    const s = uniqueStream("bad");
    await assert.rejects(client.getPersistentSubscriptionToStreamInfo(s, "nope"), PersistentSubscriptionDoesNotExistError);
    await assert.rejects(client.deletePersistentSubscriptionToStream(s, "nope"), PersistentSubscriptionDoesNotExistError);
    await assert.rejects(client.replayParkedMessagesToStream(s, "nope"), PersistentSubscriptionDoesNotExistError);
    await assert.rejects(
      client.updatePersistentSubscriptionToStream(s, "nope", streamSettings()),
      PersistentSubscriptionDoesNotExistError,
    );
    const ghost = new Member(client, s, "nope");
    await waitFor("the subscribe error", () => ghost.errors.length > 0);
    assert.ok(ghost.errors[0] instanceof PersistentSubscriptionDoesNotExistError, String(ghost.errors[0]));

    await client.createPersistentSubscriptionToStream(s, "g", streamSettings({ maxSubscriberCount: 1 }));
    await assert.rejects(
      client.createPersistentSubscriptionToStream(s, "g", streamSettings()),
      PersistentSubscriptionExistsError,
    );
    await assert.rejects(
      client.createPersistentSubscriptionToStream(s, "g-bad", streamSettings({ readBatchSize: 600, historyBufferSize: 500 })),
      /read batch size/,
    );
    await assert.rejects(
      client.createPersistentSubscriptionToStream(s, "g-bad", streamSettings({ maxRetryCount: -1 })),
      /max retry count/,
    );
    await assert.rejects(
      client.createPersistentSubscriptionToStream(s, "g-bad", streamSettings({ consumerStrategyName: PINNED_BY_CORRELATION })),
      /not supported/,
    );
    const one = new Member(client, s, "g");
    await one.confirmed;
    const two = new Member(client, s, "g");
    await waitFor("the second member refused", () => two.errors.length > 0);
    assert.ok(two.errors[0] instanceof PersistentSubscriptionMaximumSubscribersReachedError, String(two.errors[0]));
    await one.stop();
    // The server still serves.
    await appendN(client, s, 1);
    const cli = await run(KIROKU_BIN, ["group", "info", "--url", server.esdbUrl, "--stream", s, "--group", "g", "--json"]).catch((e) => e);
    assert.equal(JSON.parse(cli.stdout).group, "g");
    const missing = await run(KIROKU_BIN, ["group", "info", "--url", server.esdbUrl, "--stream", s, "--group", "nope"]).catch((e) => e);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /does not exist/);
  });
});
