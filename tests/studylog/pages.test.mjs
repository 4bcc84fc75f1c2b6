// Sorted, paginated group pages on generated data plus hand-made ties: every page of the
// read-model endpoint equals the naive endpoint's (rows and cursors), and both equal the
// test's own computation from kiroku's raw streams and from the commands it sent.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { client, createStack, runGenerator, waitCaughtUp } from "./harness.mjs";
import {
  ORDERS,
  SORTS,
  assertOrdered,
  assertPage,
  expectedGroupRows,
  pageQuery,
  rawModel,
  row,
  sortRows,
  totals,
  utc,
  walk,
} from "./model.mjs";

const GEN = { learners: 300, groups: 4, events: 6000, seed: 7 };
const GEN_LEARNERS = Array.from({ length: GEN.learners }, (_, i) => `l${String(i).padStart(6, "0")}`);
const GEN_GROUPS = Array.from({ length: GEN.groups }, (_, i) => `g${String(i).padStart(5, "0")}`);

// Hand-made learners of group "ties": equal study days, minutes and last times, learners
// with no lessons, ids whose byte order differs from a case-insensitive or locale order
// ('-' < '0' < 'A' < '_' < 'a'), UTC offsets, fractional seconds, an out-of-order lesson and
// a re-sent lesson. [id, name, lessons [lesson_id, minutes, completed_at], resent lessons]
const HAND = [
  [
    "t-a",
    "Tie A",
    [
      ["a1", 30, "2026-01-05T10:00:00Z"],
      ["a2", 30, "2026-01-06T10:00:00Z"],
    ],
  ],
  [
    "t-b",
    "Tie B",
    [
      ["b1", 30, "2026-01-05T10:00:00Z"],
      ["b2", 30, "2026-01-06T10:00:00Z"],
    ],
  ],
  [
    "t_d",
    "Tie D",
    [
      ["d1", 20, "2026-01-05T09:00:00Z"],
      ["d2", 10, "2026-01-05T11:00:00Z"],
      ["d3", 30, "2026-01-06T10:00:00Z"],
    ],
  ],
  [
    "T-c",
    "Tie C",
    [
      ["c1", 20, "2026-01-04T10:00:00Z"],
      ["c2", 25, "2026-01-07T08:00:00Z"],
    ],
  ],
  [
    "-e",
    "Dash E",
    [
      ["e1", 300, "2026-01-02T00:00:00Z"],
      ["e2", 300, "2026-01-02T23:59:59Z"],
    ],
  ],
  [
    "0f",
    "Zero F",
    [
      ["f1", 10, "2026-01-01T10:00:00Z"],
      ["f2", 10, "2026-01-02T10:00:00Z"],
      ["f3", 40, "2026-01-03T10:00:00Z"],
    ],
  ],
  ["Zg", "No lessons G", []],
  ["zh", "No lessons H", []],
  ["_i", "No lessons I", []],
  // 23:30 at -01:00 = 01-06T00:30Z; 08:00 at +09:00 = 01-05T23:00Z: two UTC days
  [
    "t-j",
    "Offsets J",
    [
      ["j1", 30, "2026-01-05T23:30:00-01:00"],
      ["j2", 30, "2026-01-06T08:00:00+09:00"],
    ],
  ],
  // accepted newest first: last_studied is the latest time, not the last accepted one
  [
    "t-k",
    "Out of order K",
    [
      ["k1", 15, "2026-01-09T10:00:00Z"],
      ["k2", 15, "2026-01-03T10:00:00Z"],
    ],
  ],
  ["t-l", "Resent L", [["l1", 60, "2026-01-06T10:00:00Z"]], [["l1", 5, "2026-01-08T10:00:00Z"]]],
  ["A1", "Upper A1", [["u1", 60, "2026-01-06T10:00:00Z"]]],
  ["a1", "Lower a1", [["w1", 60, "2026-01-06T10:00:00Z"]]],
  ["t-m", "Fraction M", [["m1", 60, "2026-01-06T10:00:00.750Z"]]],
];
const HAND_IDS = HAND.map((h) => h[0]);
// Hand-made learners who also join a generated group.
const ALSO_IN_G1 = ["t-a", "Zg", "t-k", "-e"];

let stack;
let api;
let model; // from kiroku's raw streams
let genSummary;
let setup;

before(
  async () => {
    stack = await createStack("pages");
    api = client(stack);
    const t0 = performance.now();
    // --learners 300 --groups 4 --events 6000 --seed 7
    const gen = await runGenerator(
      stack,
      Object.entries(GEN).flatMap(([k, v]) => [`--${k}`, String(v)]),
    );
    genSummary = `${gen.stdout.trim()} (${((performance.now() - t0) / 1000).toFixed(1)} s)`;
    await api.group("ties", "Ties");
    await api.group("empty", "Nobody here");
    for (const [id, name, lessons, resent = []] of HAND) {
      await api.register(id, name);
      assert.deepEqual(await api.join("ties", id), { joined: true });
      for (const [lesson_id, minutes, completed_at] of lessons) {
        const r = await api.post(`/learners/${id}/lessons`, { lesson_id, minutes, score: 50, completed_at });
        assert.equal(r.status, 201, r.text);
      }
      for (const [lesson_id, minutes, completed_at] of resent) {
        const r = await api.post(`/learners/${id}/lessons`, { lesson_id, minutes, score: 1, completed_at });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body.duplicate, true);
      }
    }
    assert.deepEqual(await api.join("ties", "t-a"), { joined: false });
    for (const id of ALSO_IN_G1) assert.deepEqual(await api.join("g00001", id), { joined: true });
    const t1 = performance.now();
    await waitCaughtUp(stack, 120000);
    const t2 = performance.now();
    model = await rawModel(stack, [...GEN_LEARNERS, ...HAND_IDS], [...GEN_GROUPS, "ties", "empty"]);
    const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
    setup =
      `generator ${genSummary}; generated + hand-made data written in ${s(t1 - t0)}; ` +
      `projection caught up ${s(t2 - t1)} later; raw streams read in ${s(performance.now() - t2)}`;
  },
  { timeout: 240000 },
);
after(async () => {
  await stack?.stop();
});

// The hand-made expectation, from the commands the test sent (not from any stream).
function handRows() {
  return HAND.map(([id, name, lessons]) =>
    row(
      id,
      name,
      lessons.map(([, minutes, at]) => ({ minutes, completed_at: utc(at) })),
    ),
  );
}

test("the generator wrote what it says, with well-formed events", (t) => {
  t.diagnostic(`set-up: ${setup}`);
  // rawModel already checked every event's shape, day and first_of_day.
  let lessons = 0;
  let inTwo = 0;
  const times = [];
  for (const id of GEN_LEARNERS) {
    const l = model.learners.get(id);
    lessons += l.lessons.length;
    for (const x of l.lessons) times.push(x.completed_at);
    const groups = GEN_GROUPS.filter((g) => model.groups.get(g).members.has(id)).length;
    assert.ok(groups >= 1, `${id} is in no group`);
    assert.ok(groups <= 2, `${id} is in ${groups} groups`);
    if (groups === 2) inTwo++;
  }
  assert.equal(lessons, GEN.events, "lesson events");
  assert.ok(inTwo > 0, "no learner is in two groups");
  times.sort();
  const spanDays = (Date.parse(times.at(-1)) - Date.parse(times[0])) / 86400e3;
  assert.ok(spanDays <= 90, `lessons span ${spanDays.toFixed(1)} days > --days 90`);
  t.diagnostic(
    `${lessons} lessons from ${times[0]} to ${times.at(-1)}, ${inTwo} learners in two groups, ` +
      `group sizes ${GEN_GROUPS.map((g) => model.groups.get(g).members.size).join("/")}`,
  );
});

test("the hand-made learners' events agree with the commands sent", () => {
  for (const [id, name, lessons] of HAND) {
    const l = model.learners.get(id);
    assert.equal(l.name, name);
    assert.deepEqual(
      l.lessons.map((x) => [x.lesson_id, x.minutes, x.completed_at]),
      lessons.map(([lid, m, at]) => [lid, m, utc(at)]),
      `stream of ${id}`,
    );
  }
  assert.deepEqual(new Set(model.groups.get("ties").members), new Set(HAND_IDS));
  for (const id of ALSO_IN_G1) assert.ok(model.groups.get("g00001").members.has(id));
});

test("history of every learner equals its stream and the totals computed from it", async () => {
  const ids = [...GEN_LEARNERS, ...HAND_IDS];
  for (let i = 0; i < ids.length; i += 16) {
    await Promise.all(
      ids.slice(i, i + 16).map(async (id) => {
        const r = await api.get(`/learners/${id}/history`);
        assert.equal(r.status, 200, `${id}: ${r.text}`);
        const l = model.learners.get(id);
        assert.deepEqual(
          r.body,
          { learner_id: id, name: l.name, ...totals(l.lessons), history: l.lessons },
          `history of ${id}`,
        );
      }),
    );
  }
});

test("group ties: every sort and order equals the order computed from the commands sent", async () => {
  const expected = handRows();
  // sanity of the hand-made data itself: it really has ties on every key
  for (const sort of SORTS) {
    const keys = expected.map((r) => r[sort]);
    assert.ok(new Set(keys).size < keys.length, `test data has no ${sort} tie`);
  }
  for (const sort of SORTS) {
    for (const order of ORDERS) {
      const want = sortRows(expected, sort, order);
      for (const prefix of ["", "/naive"]) {
        const { rows } = await walk(api, prefix, "ties", sort, order, 1000);
        assert.deepEqual(rows, want, `${prefix}/groups/ties/learners ${sort} ${order}`);
      }
    }
  }
  // Spot checks written out by hand, so a bug shared by the model and the service shows too.
  const ids = async (q) =>
    (await api.get(`/groups/ties/learners?${q}&limit=1000`)).body.learners.map((r) => r.learner_id);
  assert.deepEqual(await ids("sort=study_days&order=desc"), [
    "0f",
    "t_d",
    "t-k",
    "t-j",
    "t-b",
    "t-a",
    "T-c",
    "t-m",
    "t-l",
    "a1",
    "A1",
    "-e",
    "zh",
    "_i",
    "Zg",
  ]);
  assert.deepEqual(await ids("sort=minutes&order=asc"), [
    "Zg",
    "_i",
    "zh",
    "t-k",
    "T-c",
    "0f",
    "A1",
    "a1",
    "t-a",
    "t-b",
    "t-j",
    "t-l",
    "t-m",
    "t_d",
    "-e",
  ]);
  assert.deepEqual(
    (await ids("sort=last_studied&order=asc")).slice(0, 3),
    ["Zg", "_i", "zh"],
    "never studied sorts below every time (asc: first)",
  );
  assert.deepEqual(
    (await ids("sort=last_studied&order=desc")).slice(-3),
    ["zh", "_i", "Zg"],
    "never studied sorts below every time (desc: last)",
  );
  assert.deepEqual((await ids("sort=last_studied&order=desc")).slice(0, 2), ["t-k", "T-c"]);
});

// Walks all pages of both endpoints with the same cursor (cursors are interchangeable) and
// requires identical pages, rows and cursors.
async function walkBoth(gid, sort, order, limit) {
  const rows = [];
  let afterCursor = null;
  let pages = 0;
  for (;;) {
    const q = pageQuery(sort, order, limit, afterCursor);
    const [a, b] = await Promise.all([
      api.get(`/groups/${gid}/learners${q}`),
      api.get(`/naive/groups/${gid}/learners${q}`),
    ]);
    assert.equal(a.status, 200, `/groups/${gid}/learners${q}: ${a.text}`);
    assert.equal(b.status, 200, `/naive/groups/${gid}/learners${q}: ${b.text}`);
    assertPage(a.body, gid, sort, order, limit, `/groups/${gid}/learners${q}`);
    assert.deepEqual(a.body, b.body, `read model vs naive, ${gid}${q} (page ${pages + 1})`);
    rows.push(...a.body.learners);
    pages++;
    if (a.body.next === null) return { rows, pages };
    assert.ok(a.body.learners.length > 0, `${gid}${q}: empty page with a next cursor`);
    afterCursor = a.body.next;
    assert.ok(pages < 2000, "runaway pagination");
  }
}

test("every group × sort × order × limit: read model pages = naive pages = the independent model", async (t) => {
  const t0 = performance.now();
  let walks = 0;
  let pageCount = 0;
  const cases = [...GEN_GROUPS.map((g) => [g, [17, 1000]]), ["ties", [1, 2, 5, 1000]], ["empty", [1, 1000]]];
  for (const [gid, limits] of cases) {
    const expected = expectedGroupRows(model, gid);
    for (const sort of SORTS) {
      for (const order of ORDERS) {
        const want = sortRows(expected, sort, order);
        for (const limit of limits) {
          const { rows, pages } = await walkBoth(gid, sort, order, limit);
          const label = `${gid} ${sort} ${order} limit ${limit}`;
          assertOrdered(rows, sort, order, label);
          assert.equal(new Set(rows.map((r) => r.learner_id)).size, rows.length, `${label}: a learner twice`);
          assert.deepEqual(rows, want, label);
          assert.equal(pages, Math.max(1, Math.ceil(want.length / limit)), `${label}: page count`);
          walks++;
          pageCount += pages;
        }
      }
    }
  }
  t.diagnostic(`${walks} walks, ${pageCount} pages per endpoint, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});

test("defaults: sort=study_days, order=desc, limit=20", async () => {
  for (const prefix of ["", "/naive"]) {
    const r = await api.get(`${prefix}/groups/g00000/learners`);
    assert.equal(r.status, 200, r.text);
    assertPage(r.body, "g00000", undefined, undefined, undefined, prefix);
    const want = sortRows(expectedGroupRows(model, "g00000"), "study_days", "desc");
    assert.deepEqual(r.body.learners, want.slice(0, 20));
    assert.notEqual(r.body.next, null);
    const explicit = await api.get(`${prefix}/groups/g00000/learners?sort=study_days&order=desc&limit=20`);
    assert.deepEqual(r.body, explicit.body);
    // only some parameters given
    const some = await api.get(`${prefix}/groups/g00000/learners?order=asc&limit=7`);
    assert.equal(some.body.sort, "study_days");
    assert.deepEqual(some.body.learners, sortRows(expectedGroupRows(model, "g00000"), "study_days", "asc").slice(0, 7));
  }
});

test("a learner in two groups has the same row in both", async () => {
  for (const id of ALSO_IN_G1) {
    const inTies = (await walk(api, "", "ties", "minutes", "desc", 1000)).rows.find((r) => r.learner_id === id);
    const inG1 = (await walk(api, "", "g00001", "minutes", "desc", 1000)).rows.find((r) => r.learner_id === id);
    assert.ok(inTies && inG1, id);
    assert.deepEqual(inTies, inG1);
  }
});
