// The test's own model of the contract (API.md), computed without the service: totals from
// lessons, the row order, and page walking. Expectations come from what the tests sent or
// from kiroku's raw streams, never from the service's read model.
import assert from "node:assert/strict";
import { readStream } from "./harness.mjs";

export const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
export const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
export const SORTS = ["study_days", "minutes", "last_studied"];
export const ORDERS = ["desc", "asc"];

// RFC 3339 → UTC `YYYY-MM-DDTHH:MM:SSZ`, fractional seconds dropped (not rounded).
export function utc(s) {
  const d = new Date(s.replace(/\.\d+/, ""));
  if (Number.isNaN(d.getTime())) throw new Error(`test bug: bad time ${s}`);
  return d.toISOString().slice(0, 19) + "Z";
}

// Totals over a learner's accepted lessons ({minutes, completed_at} with UTC times).
// study_days = distinct UTC days; last_studied = the latest completion time (null if none).
export function totals(lessons) {
  const days = new Set(lessons.map((l) => l.completed_at.slice(0, 10)));
  let last = null;
  for (const l of lessons) if (last === null || l.completed_at > last) last = l.completed_at;
  return {
    study_days: days.size,
    minutes: lessons.reduce((a, l) => a + l.minutes, 0),
    lessons: lessons.length,
    last_studied: last,
  };
}

export function row(learner_id, name, lessons) {
  const t = totals(lessons);
  return { learner_id, name, study_days: t.study_days, minutes: t.minutes, last_studied: t.last_studied };
}

export function byteCompare(a, b) {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function keyCompare(sort, a, b) {
  const x = a[sort];
  const y = b[sort];
  if (sort === "last_studied") {
    // null sorts below every time
    if (x === null || y === null) return x === y ? 0 : x === null ? -1 : 1;
    return byteCompare(x, y);
  }
  return x - y;
}

// (sort key, learner_id), both in `order`'s direction.
export function rowCompare(sort, order) {
  const dir = order === "asc" ? 1 : -1;
  return (a, b) => dir * (keyCompare(sort, a, b) || byteCompare(a.learner_id, b.learner_id));
}

export function sortRows(rows, sort, order) {
  return [...rows].sort(rowCompare(sort, order));
}

// Checks the order invariant on a list of rows the service returned (strictly increasing in
// the page order: no two rows equal, ties broken by learner id).
export function assertOrdered(rows, sort, order, label) {
  const cmp = rowCompare(sort, order);
  for (let i = 1; i < rows.length; i++) {
    if (!(cmp(rows[i - 1], rows[i]) < 0)) {
      assert.fail(
        `${label}: rows ${i - 1} and ${i} out of ${sort} ${order} order: ` +
          `${JSON.stringify(rows[i - 1])} then ${JSON.stringify(rows[i])}`,
      );
    }
  }
}

const ROW_KEYS = ["last_studied", "learner_id", "minutes", "name", "study_days"];
export function assertRowShape(r, label) {
  assert.deepEqual(Object.keys(r).sort(), ROW_KEYS, `${label}: row keys of ${JSON.stringify(r)}`);
  assert.match(r.learner_id, ID_RE, label);
  assert.equal(typeof r.name, "string", label);
  assert.ok(Number.isInteger(r.study_days) && r.study_days >= 0, `${label}: study_days ${r.study_days}`);
  assert.ok(Number.isInteger(r.minutes) && r.minutes >= 0, `${label}: minutes ${r.minutes}`);
  assert.ok(
    r.last_studied === null || TIME_RE.test(r.last_studied),
    `${label}: last_studied ${JSON.stringify(r.last_studied)}`,
  );
  if (r.study_days === 0) assert.equal(r.last_studied, null, `${label}: no study days but last_studied set`);
  else assert.notEqual(r.last_studied, null, `${label}: study days but no last_studied`);
}

// The ground truth for a set of learners and groups, read from kiroku's raw streams over
// its HTTP admin API (not through the service). Also checks the events' shape (API.md).
export async function rawModel(stack, learnerIds, groupIds) {
  const learners = new Map();
  const groups = new Map();
  // A few requests at a time: kiroku's HTTP admin server has a small thread pool, and
  // idle keep-alive connections hold its threads.
  await inPool(learnerIds, 4, async (id) => {
    const events = await readStream(stack, `learner-${id}`);
    assert.ok(events.length > 0, `stream learner-${id} is empty or missing`);
    assert.equal(events[0].type, "LearnerRegistered", `learner-${id}@0`);
    assert.equal(events[0].data.learner_id, id);
    assert.match(events[0].data.registered_at, TIME_RE, `learner-${id} registered_at`);
    const lessons = [];
    const seenDays = new Set();
    const seenLessons = new Set();
    for (const e of events.slice(1)) {
      assert.equal(e.type, "LessonCompleted", `learner-${id}@${e.revision}`);
      const d = e.data;
      const where = `learner-${id}@${e.revision} ${JSON.stringify(d)}`;
      assert.equal(d.learner_id, id, where);
      assert.match(d.lesson_id, ID_RE, where);
      assert.ok(!seenLessons.has(d.lesson_id), `${where}: lesson_id written twice`);
      seenLessons.add(d.lesson_id);
      assert.ok(Number.isInteger(d.minutes) && d.minutes >= 1 && d.minutes <= 600, `${where}: minutes`);
      assert.ok(typeof d.score === "number" && d.score >= 0 && d.score <= 100, `${where}: score`);
      assert.match(d.completed_at, TIME_RE, where);
      assert.equal(d.day, d.completed_at.slice(0, 10), `${where}: day is not the date of completed_at`);
      assert.equal(d.first_of_day, !seenDays.has(d.day), `${where}: first_of_day`);
      seenDays.add(d.day);
      lessons.push({ lesson_id: d.lesson_id, minutes: d.minutes, score: d.score, completed_at: d.completed_at });
    }
    learners.set(id, { name: events[0].data.name, lessons });
  });
  for (const gid of groupIds) {
    const events = await readStream(stack, `group-${gid}`);
    assert.ok(events.length > 0, `stream group-${gid} is empty or missing`);
    assert.equal(events[0].type, "GroupCreated", `group-${gid}@0`);
    const members = new Set();
    for (const e of events.slice(1)) {
      assert.equal(e.type, "LearnerJoinedGroup", `group-${gid}@${e.revision}`);
      assert.equal(e.data.group_id, gid);
      assert.ok(!members.has(e.data.learner_id), `group-${gid}: ${e.data.learner_id} joined twice`);
      members.add(e.data.learner_id);
    }
    groups.set(gid, { name: events[0].data.name, members });
  }
  return { learners, groups };
}

// Runs fn over items with at most n in flight.
export async function inPool(items, n, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

export function expectedGroupRows(model, gid) {
  const g = model.groups.get(gid);
  return [...g.members].map((id) => {
    const l = model.learners.get(id);
    assert.ok(l, `member ${id} of ${gid} is not a known learner`);
    return row(id, l.name, l.lessons);
  });
}

export function pageQuery(sort, order, limit, after) {
  const q = new URLSearchParams();
  if (sort !== undefined) q.set("sort", sort);
  if (order !== undefined) q.set("order", order);
  if (limit !== undefined) q.set("limit", String(limit));
  if (after !== undefined && after !== null) q.set("after", after);
  return `?${q}`;
}

// Walks every page of one endpoint (prefix "" or "/naive") with the given parameters and
// checks the page-level contract. Returns { rows, pages }.
export async function walk(api, prefix, gid, sort, order, limit, maxPages = 5000) {
  const pages = [];
  const rows = [];
  let after = null;
  for (;;) {
    const path = `${prefix}/groups/${gid}/learners${pageQuery(sort, order, limit, after)}`;
    const r = await api.get(path);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    const b = r.body;
    assertPage(b, gid, sort, order, limit, path);
    pages.push(b);
    rows.push(...b.learners);
    if (b.next === null) break;
    assert.ok(b.learners.length > 0, `${path}: an empty page with a non-null next`);
    after = b.next;
    assert.ok(pages.length <= maxPages, `${path}: more than ${maxPages} pages`);
  }
  return { rows, pages };
}

export function assertPage(b, gid, sort, order, limit, label) {
  assert.ok(b && typeof b === "object", `${label}: body is not JSON`);
  assert.deepEqual(Object.keys(b).sort(), ["group_id", "learners", "next", "order", "sort"], `${label}: keys`);
  assert.equal(b.group_id, gid, `${label}: group_id`);
  assert.equal(b.sort, sort ?? "study_days", `${label}: sort`);
  assert.equal(b.order, order ?? "desc", `${label}: order`);
  assert.ok(Array.isArray(b.learners), `${label}: learners`);
  assert.ok(b.learners.length <= (limit ?? 20), `${label}: ${b.learners.length} rows > limit ${limit ?? 20}`);
  if (b.next !== null) {
    assert.equal(typeof b.next, "string", `${label}: next`);
    assert.equal(b.learners.length, limit ?? 20, `${label}: a page that is not the last has fewer rows than the limit`);
  }
  for (const r of b.learners) assertRowShape(r, label);
}
