// Commands end to end: the happy path with status codes and bodies, what the events and the
// read API then say, idempotent lesson completion (also under concurrency), and freshness.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { client, createStack, readStream, waitCaughtUp, waitFor } from "./harness.mjs";
import { ID_RE, TIME_RE, assertOrdered, assertRowShape, row, totals, utc, walk } from "./model.mjs";

let stack;
let api;
before(async () => {
  stack = await createStack("commands");
  api = client(stack);
});
after(async () => {
  await stack?.stop();
});

// Lessons the test sent and the service accepted, per learner: the expectation.
const sent = new Map();
function accepted(lid, lesson) {
  if (!sent.has(lid)) sent.set(lid, []);
  sent.get(lid).push({
    lesson_id: lesson.lesson_id,
    minutes: lesson.minutes,
    score: lesson.score,
    completed_at: utc(lesson.completed_at),
  });
}

async function history(lid) {
  const r = await api.get(`/learners/${lid}/history`);
  assert.equal(r.status, 200, `history ${lid}: ${r.text}`);
  return r.body;
}

function assertHistory(h, lid, name) {
  assert.deepEqual(
    Object.keys(h).sort(),
    ["history", "last_studied", "learner_id", "lessons", "minutes", "name", "study_days"],
    `history keys: ${JSON.stringify(h)}`,
  );
  const lessons = sent.get(lid) ?? [];
  assert.equal(h.learner_id, lid);
  assert.equal(h.name, name);
  assert.deepEqual(h.history, lessons, `history of ${lid}`);
  const t = totals(lessons);
  assert.deepEqual(
    { study_days: h.study_days, minutes: h.minutes, lessons: h.lessons, last_studied: h.last_studied },
    t,
    `totals of ${lid}`,
  );
}

test("happy path: register, create, join, complete; status codes and bodies", async (t) => {
  let r = await api.get("/health");
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: "ok" });

  r = await api.post("/learners", { learner_id: "alice", name: "Alice" });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body, { learner_id: "alice" });
  assert.match(r.contentType ?? "", /application\/json/, "content type");

  r = await api.post("/learners", { learner_id: "bob", name: "Bob" });
  assert.equal(r.status, 201, r.text);

  r = await api.post("/groups", { group_id: "team", name: "Team" });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body, { group_id: "team" });

  r = await api.post("/groups/team/members", { learner_id: "alice" });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body, { joined: true });
  r = await api.post("/groups/team/members", { learner_id: "alice" });
  assert.equal(r.status, 200, `second join: ${r.text}`);
  assert.deepEqual(r.body, { joined: false });
  r = await api.post("/groups/team/members", { learner_id: "bob" });
  assert.equal(r.status, 201, r.text);

  const lessons = [
    { lesson_id: "a1", minutes: 30, score: 88.5, completed_at: "2026-03-01T10:00:00Z" },
    { lesson_id: "a2", minutes: 20, score: 70, completed_at: "2026-03-01T18:30:00Z" }, // same day
    // 23:30 at -02:00 is 01:30 UTC the next day: the UTC day counts.
    { lesson_id: "a3", minutes: 15, score: 100, completed_at: "2026-03-01T23:30:00-02:00" },
    // fractional seconds are dropped, not rounded
    { lesson_id: "a4", minutes: 5, score: 0, completed_at: "2026-03-03T08:00:00.999Z" },
    // 08:00 at +09:00 is 23:00 UTC the day before
    { lesson_id: "a5", minutes: 45, score: 60.25, completed_at: "2026-03-05T08:00:00+09:00" },
  ];
  for (const l of lessons) {
    r = await api.post("/learners/alice/lessons", l);
    assert.equal(r.status, 201, `${l.lesson_id}: ${r.text}`);
    assert.deepEqual(r.body, { accepted: true, duplicate: false });
    accepted("alice", l);
  }

  // The events as written (API.md "Streams and events"), read straight from kiroku.
  const events = await readStream(stack, "learner-alice");
  assert.deepEqual(
    events.map((e) => e.type),
    ["LearnerRegistered", ...lessons.map(() => "LessonCompleted")],
  );
  assert.equal(events[0].data.learner_id, "alice");
  assert.equal(events[0].data.name, "Alice");
  assert.match(events[0].data.registered_at, TIME_RE);
  const expectedData = [
    ["a1", "2026-03-01T10:00:00Z", "2026-03-01", true],
    ["a2", "2026-03-01T18:30:00Z", "2026-03-01", false],
    ["a3", "2026-03-02T01:30:00Z", "2026-03-02", true],
    ["a4", "2026-03-03T08:00:00Z", "2026-03-03", true],
    ["a5", "2026-03-04T23:00:00Z", "2026-03-04", true],
  ];
  for (const [i, [id, at, day, first]] of expectedData.entries()) {
    const d = events[i + 1].data;
    assert.deepEqual(
      {
        lesson_id: d.lesson_id,
        completed_at: d.completed_at,
        day: d.day,
        first_of_day: d.first_of_day,
        learner_id: d.learner_id,
        minutes: d.minutes,
        score: d.score,
      },
      {
        lesson_id: id,
        completed_at: at,
        day,
        first_of_day: first,
        learner_id: "alice",
        minutes: lessons[i].minutes,
        score: lessons[i].score,
      },
      `LessonCompleted ${id}`,
    );
  }
  const group = await readStream(stack, "group-team");
  assert.deepEqual(
    group.map((e) => e.type),
    ["GroupCreated", "LearnerJoinedGroup", "LearnerJoinedGroup"],
    "the second join wrote nothing",
  );
  assert.deepEqual(
    group.map((e) => e.data.learner_id ?? null),
    [null, "alice", "bob"],
  );
  assert.equal(group[0].data.name, "Team");
  assert.match(group[1].data.joined_at, TIME_RE);

  // The read API once the projection has caught up.
  await waitCaughtUp(stack);
  const h = await history("alice");
  assertHistory(h, "alice", "Alice");
  assert.equal(h.study_days, 4);
  assert.equal(h.minutes, 115);
  assert.equal(h.last_studied, "2026-03-04T23:00:00Z");
  const hb = await history("bob");
  assertHistory(hb, "bob", "Bob");
  assert.equal(hb.last_studied, null);
  assert.deepEqual(hb.history, []);

  for (const prefix of ["", "/naive"]) {
    const { rows } = await walk(api, prefix, "team", undefined, undefined, undefined);
    assert.deepEqual(rows, [row("alice", "Alice", sent.get("alice")), row("bob", "Bob", [])], `${prefix} team page`);
  }
  t.diagnostic(`alice: ${JSON.stringify(row("alice", "Alice", sent.get("alice")))}`);
});

test("generated ids when learner_id / group_id are absent", async () => {
  const a = await api.post("/learners", { name: "Anon 1" });
  const b = await api.post("/learners", { name: "Anon 2" });
  assert.equal(a.status, 201, a.text);
  assert.equal(b.status, 201, b.text);
  assert.deepEqual(Object.keys(a.body), ["learner_id"]);
  assert.match(a.body.learner_id, ID_RE);
  assert.match(b.body.learner_id, ID_RE);
  assert.notEqual(a.body.learner_id, b.body.learner_id);
  const g = await api.post("/groups", { name: "Anon group" });
  assert.equal(g.status, 201, g.text);
  assert.deepEqual(Object.keys(g.body), ["group_id"]);
  assert.match(g.body.group_id, ID_RE);
  // They are real: join, study, read back.
  const lid = a.body.learner_id;
  const gid = g.body.group_id;
  assert.equal((await api.post(`/groups/${gid}/members`, { learner_id: lid })).status, 201);
  const l = { lesson_id: "gen-1", minutes: 12, score: 34, completed_at: "2026-01-01T00:00:00Z" };
  assert.equal((await api.post(`/learners/${lid}/lessons`, l)).status, 201);
  accepted(lid, l);
  await waitCaughtUp(stack);
  assertHistory(await history(lid), lid, "Anon 1");
  const { rows } = await walk(api, "", gid, "minutes", "asc", 5);
  assert.deepEqual(rows, [row(lid, "Anon 1", sent.get(lid))]);
});

test("completed_at defaults to now", async () => {
  await api.register("now-learner", "Now");
  const before = new Date(Date.now() - 1000).toISOString().slice(0, 19) + "Z";
  const r = await api.post("/learners/now-learner/lessons", { lesson_id: "n1", minutes: 3, score: 3 });
  const afterT = new Date(Date.now() + 1000).toISOString().slice(0, 19) + "Z";
  assert.equal(r.status, 201, r.text);
  const events = await readStream(stack, "learner-now-learner");
  const at = events[1].data.completed_at;
  assert.match(at, TIME_RE);
  assert.ok(at >= before && at <= afterT, `completed_at ${at} not within [${before}, ${afterT}]`);
  assert.equal(events[1].data.day, at.slice(0, 10));
  await waitCaughtUp(stack);
  const h = await history("now-learner");
  assert.equal(h.history[0].completed_at, at);
  assert.equal(h.last_studied, at);
});

test("idempotent lesson completion: the same lesson_id again is a duplicate and counts once", async () => {
  await api.register("idem", "Idem");
  await api.join("team", "idem");
  const first = { lesson_id: "L-1", minutes: 40, score: 90, completed_at: "2026-04-01T09:00:00Z" };
  let r = await api.post("/learners/idem/lessons", first);
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body, { accepted: true, duplicate: false });
  accepted("idem", first);
  // Same lesson id, whatever the other fields: 200 duplicate, nothing written.
  for (const other of [
    first,
    { ...first, minutes: 600, score: 1 },
    { ...first, completed_at: "2026-04-09T09:00:00Z" },
    { lesson_id: "L-1", minutes: 1, score: 0 },
  ]) {
    r = await api.post("/learners/idem/lessons", other);
    assert.equal(r.status, 200, `resend ${JSON.stringify(other)}: ${r.text}`);
    assert.deepEqual(r.body, { accepted: true, duplicate: true });
  }
  const second = { lesson_id: "L-2", minutes: 5, score: 50, completed_at: "2026-04-02T09:00:00Z" };
  r = await api.post("/learners/idem/lessons", second);
  assert.equal(r.status, 201, r.text);
  accepted("idem", second);
  r = await api.post("/learners/idem/lessons", first);
  assert.equal(r.status, 200, "an older lesson is still a duplicate after a newer one");
  assert.equal(r.body.duplicate, true);

  const events = await readStream(stack, "learner-idem");
  assert.deepEqual(
    events.filter((e) => e.type === "LessonCompleted").map((e) => e.data.lesson_id),
    ["L-1", "L-2"],
  );
  await waitCaughtUp(stack);
  const h = await history("idem");
  assertHistory(h, "idem", "Idem");
  assert.equal(h.minutes, 45);
  assert.equal(h.lessons, 2);
  assert.equal(h.study_days, 2);
  for (const prefix of ["", "/naive"]) {
    const { rows } = await walk(api, prefix, "team", "minutes", "desc", 1000);
    assert.deepEqual(
      rows.find((x) => x.learner_id === "idem"),
      row("idem", "Idem", sent.get("idem")),
      `${prefix} team row`,
    );
  }
});

test("idempotent under concurrency: the same lesson sent 8 times at once is accepted once", async () => {
  await api.register("race", "Race");
  const l = { lesson_id: "R-1", minutes: 25, score: 75, completed_at: "2026-04-03T12:00:00Z" };
  const rs = await Promise.all(Array.from({ length: 8 }, () => api.post("/learners/race/lessons", l)));
  const statuses = rs.map((r) => r.status).sort();
  assert.deepEqual(
    statuses,
    [200, 200, 200, 200, 200, 200, 200, 201],
    rs.map((r) => `${r.status} ${r.text}`).join("\n"),
  );
  assert.equal(rs.filter((r) => r.body?.duplicate === false).length, 1);
  accepted("race", l);
  // Different lessons at once on the same day: all accepted, exactly one first_of_day.
  const many = Array.from({ length: 8 }, (_, i) => ({
    lesson_id: `R-p${i}`,
    minutes: i + 1,
    score: i,
    completed_at: `2026-04-04T0${i}:00:00Z`,
  }));
  const rm = await Promise.all(many.map((x) => api.post("/learners/race/lessons", x)));
  assert.deepEqual(
    rm.map((r) => r.status),
    many.map(() => 201),
    rm.map((r) => `${r.status} ${r.text}`).join("\n"),
  );
  const events = (await readStream(stack, "learner-race")).filter((e) => e.type === "LessonCompleted");
  assert.equal(events.length, 9);
  assert.deepEqual(
    events.map((e) => e.revision),
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.equal(
    events.filter((e) => e.data.day === "2026-04-04" && e.data.first_of_day).length,
    1,
    "exactly one first_of_day on 2026-04-04",
  );
  // History lists the lessons in the order they were accepted (the stream's order).
  const order = events.map((e) => e.data.lesson_id);
  for (const id of order.slice(1))
    accepted(
      "race",
      many.find((x) => x.lesson_id === id),
    );
  await waitCaughtUp(stack);
  const h = await history("race");
  assertHistory(h, "race", "Race");
  assert.equal(h.minutes, 25 + 36);
  assert.equal(h.study_days, 2);
});

test("concurrent registrations and joins: one winner per id, every join kept", async () => {
  const regs = await Promise.all(
    Array.from({ length: 6 }, (_, i) => api.post("/learners", { learner_id: "same-id", name: `Racer ${i}` })),
  );
  assert.deepEqual(
    regs.map((r) => r.status).sort(),
    [201, 409, 409, 409, 409, 409],
    regs.map((r) => `${r.status} ${r.text}`).join("\n"),
  );
  for (const r of regs.filter((x) => x.status === 409)) assert.equal(r.body.error, "learner_exists");
  const groups = await Promise.all(
    Array.from({ length: 4 }, () => api.post("/groups", { group_id: "same-group", name: "Same" })),
  );
  assert.deepEqual(groups.map((r) => r.status).sort(), [201, 409, 409, 409]);
  const ids = Array.from({ length: 8 }, (_, i) => `joiner-${i}`);
  for (const id of ids) await api.register(id, id);
  const joins = await Promise.all(ids.map((id) => api.post("/groups/same-group/members", { learner_id: id })));
  assert.deepEqual(
    joins.map((r) => r.status),
    ids.map(() => 201),
    joins.map((r) => `${r.status} ${r.text}`).join("\n"),
  );
  const again = await Promise.all(ids.map((id) => api.post("/groups/same-group/members", { learner_id: id })));
  assert.deepEqual(
    again.map((r) => [r.status, r.body]),
    ids.map(() => [200, { joined: false }]),
  );
  const events = await readStream(stack, "group-same-group");
  assert.deepEqual(
    events
      .slice(1)
      .map((e) => e.data.learner_id)
      .sort(),
    [...ids].sort(),
  );
  const registered = (await readStream(stack, "learner-same-id")).filter((e) => e.type === "LearnerRegistered");
  assert.equal(registered.length, 1);
  await waitCaughtUp(stack);
  const { rows } = await walk(api, "", "same-group", "study_days", "asc", 3);
  assert.deepEqual(
    rows.map((r) => r.learner_id),
    [...ids].sort(),
  );
  const h = await history("same-id");
  assert.equal(h.name, registered[0].data.name, "the name of the registration that won");
});

test("freshness: a command's effect is visible in the read API within 5 s", async (t) => {
  await api.group("fresh", "Fresh");
  const delays = { join: [], history: [], page: [], naive: [] };
  const TIMEOUT = 5000;
  for (let i = 0; i < 8; i++) {
    const lid = `fresh-${i}`;
    await api.register(lid, `Fresh ${i}`);
    // join → the learner appears on the group page
    await api.join("fresh", lid);
    let w = await waitFor(
      async () => {
        const r = await api.get("/groups/fresh/learners?limit=1000");
        return r.status === 200 && r.body.learners.some((x) => x.learner_id === lid);
      },
      { timeoutMs: TIMEOUT, intervalMs: 5, what: `${lid} on the fresh group page` },
    );
    delays.join.push(w.ms);
    // lesson → totals in the history and on the group page (both read-model backed)
    const l = { lesson_id: `f-${i}`, minutes: 10 + i, score: 50, completed_at: `2026-05-0${1 + (i % 5)}T10:00:00Z` };
    const r = await api.post(`/learners/${lid}/lessons`, l);
    assert.equal(r.status, 201, r.text);
    accepted(lid, l);
    const expect = row(lid, `Fresh ${i}`, sent.get(lid));
    const t0 = performance.now();
    w = await waitFor(
      async () => {
        const h = await api.get(`/learners/${lid}/history`);
        return (
          h.status === 200 &&
          h.body.minutes === expect.minutes &&
          h.body.study_days === 1 &&
          h.body.last_studied === expect.last_studied
        );
      },
      { timeoutMs: TIMEOUT, intervalMs: 5, what: `${lid} history totals` },
    );
    delays.history.push(w.ms);
    w = await waitFor(
      async () => {
        const p = await api.get("/groups/fresh/learners?sort=minutes&limit=1000");
        const x = p.body?.learners?.find((y) => y.learner_id === lid);
        return x && isDeepStrictEqual(x, expect);
      },
      { timeoutMs: TIMEOUT, intervalMs: 5, what: `${lid} row on the group page` },
    );
    delays.page.push(performance.now() - t0);
    // The naive endpoint reads the streams: visible at once.
    const n = await api.get("/naive/groups/fresh/learners?sort=minutes&limit=1000");
    assert.deepEqual(
      n.body.learners.find((y) => y.learner_id === lid),
      expect,
      "naive row right after the command",
    );
  }
  const fmt = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const ms = (x) => `${x.toFixed(1)} ms`;
    return `min ${ms(s[0])}, median ${ms(s[Math.floor(s.length / 2)])}, max ${ms(s.at(-1))}`;
  };
  t.diagnostic(`freshness join→page: ${fmt(delays.join)}`);
  t.diagnostic(`freshness lesson→history totals: ${fmt(delays.history)}`);
  t.diagnostic(`freshness lesson→group page row: ${fmt(delays.page)}`);

  // The final page, once more, against the test's own model, in every order.
  await waitCaughtUp(stack);
  const members = Array.from({ length: 8 }, (_, i) => row(`fresh-${i}`, `Fresh ${i}`, sent.get(`fresh-${i}`)));
  for (const sort of ["study_days", "minutes", "last_studied"]) {
    for (const order of ["desc", "asc"]) {
      const { rows } = await walk(api, "", "fresh", sort, order, 3);
      assertOrdered(rows, sort, order, `fresh ${sort} ${order}`);
      rows.forEach((x) => assertRowShape(x, "fresh"));
      assert.deepEqual(new Set(rows.map((x) => x.learner_id)), new Set(members.map((x) => x.learner_id)));
      for (const x of rows)
        assert.deepEqual(
          x,
          members.find((m) => m.learner_id === x.learner_id),
        );
    }
  }
});
