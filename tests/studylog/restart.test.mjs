// Restart keeps everything: stop studylog and kiroku with SIGTERM, start both again on the
// same data directory and read model, and require the same pages, histories and lesson
// idempotency, and that new commands still work.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { client, createStack, readStream, runGenerator, waitCaughtUp, waitFor } from "./harness.mjs";
import { ORDERS, SORTS, expectedGroupRows, rawModel, row, sortRows, totals, utc, walk } from "./model.mjs";

const LEARNERS = Array.from({ length: 40 }, (_, i) => `l${String(i).padStart(6, "0")}`);
const GROUPS = ["g00000", "g00001"];
const R_LESSONS = [
  { lesson_id: "r1", minutes: 30, score: 80, completed_at: "2026-06-01T08:00:00Z" },
  { lesson_id: "r2", minutes: 20, score: 90, completed_at: "2026-06-02T08:00:00+02:00" },
];

let stack;
let api;
before(
  async () => {
    stack = await createStack("restart");
    api = client(stack);
    await runGenerator(stack, ["--learners", "40", "--groups", "2", "--events", "600", "--seed", "11"]);
    await api.register("r-keep", "Keeper");
    await api.register("r-idle", "Idle");
    await api.join("g00000", "r-keep");
    await api.join("g00000", "r-idle");
    for (const l of R_LESSONS) assert.equal((await api.post("/learners/r-keep/lessons", l)).status, 201);
    await waitCaughtUp(stack);
  },
  { timeout: 120000 },
);
after(async () => {
  await stack?.stop();
});

// Everything the read API says about the data, both endpoints.
async function snapshot() {
  const pages = {};
  for (const gid of GROUPS) {
    for (const sort of SORTS) {
      for (const order of ORDERS) {
        for (const limit of [7, 1000]) {
          for (const prefix of ["", "/naive"]) {
            pages[`${prefix}/${gid}/${sort}/${order}/${limit}`] = (
              await walk(api, prefix, gid, sort, order, limit)
            ).pages;
          }
        }
      }
    }
  }
  const histories = {};
  for (const id of [...LEARNERS, "r-keep", "r-idle"]) {
    const r = await api.get(`/learners/${id}/history`);
    assert.equal(r.status, 200, `${id}: ${r.text}`);
    histories[id] = r.body;
  }
  return { pages, histories };
}

test("restart keeps pages, histories and idempotency; new commands work", { timeout: 150000 }, async (t) => {
  // Before: the snapshot agrees with the raw streams, so it is worth keeping.
  const model = await rawModel(stack, [...LEARNERS, "r-keep", "r-idle"], GROUPS);
  for (const gid of GROUPS) {
    const { rows } = await walk(api, "", gid, "minutes", "desc", 1000);
    assert.deepEqual(rows, sortRows(expectedGroupRows(model, gid), "minutes", "desc"), `${gid} before restart`);
  }
  const keep = row(
    "r-keep",
    "Keeper",
    R_LESSONS.map((l) => ({ minutes: l.minutes, completed_at: utc(l.completed_at) })),
  );
  const before1 = await snapshot();
  assert.equal(before1.histories["r-keep"].minutes, keep.minutes);
  assert.equal(before1.histories["r-keep"].study_days, keep.study_days);

  // Stop both (SIGTERM) and start both again on the same data.
  const oldApi = stack.api;
  const t0 = performance.now();
  const status = await stack.stop();
  t.diagnostic(`stop: ${JSON.stringify(status)}`);
  assert.deepEqual(
    { code: status.studylog.code, timedOut: !!status.studylog.timedOut },
    { code: 0, timedOut: false },
    "studylog exits 0 on SIGTERM",
  );
  assert.deepEqual(
    { code: status.kiroku.code, timedOut: !!status.kiroku.timedOut },
    { code: 0, timedOut: false },
    "kiroku exits 0 on SIGTERM",
  );
  await stack.start();
  t.diagnostic(`restart took ${(performance.now() - t0).toFixed(0)} ms; studylog ${oldApi} -> ${stack.api}`);
  await waitCaughtUp(stack);

  // Same answers, byte for byte (cursors included).
  const after1 = await snapshot();
  assert.deepEqual(after1.histories, before1.histories, "histories after restart");
  for (const k of Object.keys(before1.pages))
    assert.deepEqual(after1.pages[k], before1.pages[k], `pages ${k} after restart`);

  // A cursor taken before the restart still continues the walk (cursors are plain data).
  const firstPage = before1.pages["/g00000/study_days/desc/7"][0];
  const cont = await api.get(
    `/groups/g00000/learners?sort=study_days&order=desc&limit=7&after=${encodeURIComponent(firstPage.next)}`,
  );
  assert.equal(cont.status, 200, cont.text);
  assert.deepEqual(cont.body, before1.pages["/g00000/study_days/desc/7"][1]);

  // Idempotency survives: old lessons are still duplicates, nothing is written.
  for (const l of R_LESSONS) {
    const r = await api.post("/learners/r-keep/lessons", { ...l, minutes: 599 });
    assert.equal(r.status, 200, `resend ${l.lesson_id}: ${r.text}`);
    assert.deepEqual(r.body, { accepted: true, duplicate: true });
  }
  const genOwner = LEARNERS.find((id) => model.learners.get(id).lessons.length > 0);
  const genLesson = model.learners.get(genOwner).lessons[0];
  const rg = await api.post(`/learners/${genOwner}/lessons`, { lesson_id: genLesson.lesson_id, minutes: 1, score: 1 });
  assert.equal(rg.status, 200, `resend generated lesson ${genLesson.lesson_id}: ${rg.text}`);
  assert.equal(rg.body.duplicate, true);
  assert.equal(
    (await readStream(stack, "learner-r-keep")).length,
    1 + R_LESSONS.length,
    "nothing written by the re-sends",
  );

  // Existing learners and groups are still known: conflicts and 404s as before.
  assert.equal((await api.post("/learners", { learner_id: "r-keep", name: "x" })).status, 409);
  assert.equal((await api.post("/groups", { group_id: "g00000", name: "x" })).status, 409);
  assert.deepEqual((await api.post("/groups/g00000/members", { learner_id: "r-keep" })).body, { joined: false });

  // New commands work and become visible.
  // on a day r-keep already studied before the restart
  const l3 = { lesson_id: "r3", minutes: 11, score: 70, completed_at: "2026-06-01T20:00:00Z" };
  let r = await api.post("/learners/r-keep/lessons", l3);
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body, { accepted: true, duplicate: false });
  const keepLessons = [...R_LESSONS, l3].map((l) => ({
    lesson_id: l.lesson_id,
    minutes: l.minutes,
    score: l.score,
    completed_at: utc(l.completed_at),
  }));
  const fresh = await waitFor(
    async () => {
      const h = await api.get("/learners/r-keep/history");
      return h.status === 200 && h.body.minutes === 61 ? h.body : null;
    },
    { timeoutMs: 5000, what: "r-keep's new lesson after the restart", logs: stack.logs },
  );
  t.diagnostic(`new lesson visible after ${fresh.ms.toFixed(1)} ms`);
  assert.deepEqual(fresh.value, { learner_id: "r-keep", name: "Keeper", ...totals(keepLessons), history: keepLessons });
  assert.equal(
    fresh.value.study_days,
    2,
    "a lesson on a day already studied before the restart is not a new study day",
  );
  const events = await readStream(stack, "learner-r-keep");
  assert.equal(events.at(-1).data.first_of_day, false, "first_of_day after the restart");

  r = await api.post("/learners", { learner_id: "r-new", name: "Newcomer" });
  assert.equal(r.status, 201, r.text);
  r = await api.post("/groups/g00000/members", { learner_id: "r-new" });
  assert.equal(r.status, 201, r.text);
  r = await api.post("/learners/r-new/lessons", {
    lesson_id: "n1",
    minutes: 600,
    score: 100,
    completed_at: "2026-06-05T10:00:00Z",
  });
  assert.equal(r.status, 201, r.text);
  await waitFor(
    async () => {
      const p = await api.get("/groups/g00000/learners?sort=minutes&limit=1000");
      return p.body?.learners?.some((x) => x.learner_id === "r-new" && x.minutes === 600);
    },
    { timeoutMs: 5000, what: "r-new on the group page after the restart", logs: stack.logs },
  );
  await waitCaughtUp(stack);
  const model2 = await rawModel(stack, [...LEARNERS, "r-keep", "r-idle", "r-new"], GROUPS);
  for (const gid of GROUPS) {
    for (const sort of SORTS) {
      const want = sortRows(expectedGroupRows(model2, gid), sort, "desc");
      for (const prefix of ["", "/naive"]) {
        const { rows } = await walk(api, prefix, gid, sort, "desc", 9);
        assert.deepEqual(rows, want, `${prefix} ${gid} ${sort} after restart and new commands`);
      }
    }
  }

  // And once more: a second restart right after new writes loses nothing either.
  const before2 = await snapshot();
  const status2 = await stack.stop();
  assert.equal(status2.studylog.code, 0);
  assert.equal(status2.kiroku.code, 0);
  await stack.start();
  await waitCaughtUp(stack);
  const after2 = await snapshot();
  assert.deepEqual(after2.histories, before2.histories, "histories after the second restart");
  for (const k of Object.keys(before2.pages))
    assert.deepEqual(after2.pages[k], before2.pages[k], `pages ${k} after the second restart`);
});
