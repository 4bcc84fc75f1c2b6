// Every validation error in API.md, over HTTP against real processes, and that a rejected
// command writes nothing.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { client, createStack, readStream, waitCaughtUp } from "./harness.mjs";
import { utc } from "./model.mjs";

let stack;
let api;
before(async () => {
  stack = await createStack("validation");
  api = client(stack);
  await api.register("v-learner", "Valid Learner");
  await api.group("v-group", "Valid Group");
  await api.join("v-group", "v-learner");
  await api.lesson("v-learner", { lesson_id: "v-ok", minutes: 10, score: 50, completed_at: "2026-02-01T10:00:00Z" });
});
after(async () => {
  await stack?.stop();
});

// The error body: {"error": CODE, "message": TEXT}.
function assertError(r, status, codes, label) {
  codes = [].concat(codes);
  assert.equal(r.status, status, `${label}: status (body ${r.text})`);
  assert.ok(
    r.body && typeof r.body === "object" && !Array.isArray(r.body),
    `${label}: body is not a JSON object: ${r.text}`,
  );
  assert.ok(
    codes.includes(r.body.error),
    `${label}: error ${JSON.stringify(r.body.error)}, expected ${codes.join(" or ")}`,
  );
  assert.equal(typeof r.body.message, "string", `${label}: message`);
  assert.ok(r.body.message.length > 0, `${label}: empty message`);
}

const POSTS = [
  ["/learners", { name: "x" }],
  ["/groups", { name: "x" }],
  ["/groups/v-group/members", { learner_id: "v-learner" }],
  ["/learners/v-learner/lessons", { lesson_id: "never-written", minutes: 10, score: 10 }],
];

describe("bad_json", () => {
  const malformed = ["{", '{"name": "x",}', '{"name": x}', "", "not json", '{"name": "x"} trailing', "{'name': 'x'}"];
  const notObject = ["[]", '[{"name": "x"}]', '"x"', "42", "null", "true"];
  for (const [path] of POSTS) {
    test(`POST ${path}: malformed JSON`, async () => {
      for (const body of malformed)
        assertError(await api.post(path, body, { raw: true }), 400, "bad_json", `${path} ${JSON.stringify(body)}`);
    });
    test(`POST ${path}: a body that is not an object`, async () => {
      for (const body of notObject)
        assertError(await api.post(path, body, { raw: true }), 400, "bad_json", `${path} ${body}`);
    });
  }
});

// null is left out for the optional ids (learner_id of POST /learners, group_id of POST
// /groups): API.md does not say whether an explicit null means "absent".
const BAD_IDS = [
  "",
  "a b",
  "x".repeat(65),
  "caf\u00e9",
  "a/b",
  "a.b",
  "a:b",
  "a%b",
  "a\n",
  42,
  1.5,
  true,
  ["a"],
  { id: "a" },
];
const BAD_REQUIRED_IDS = [...BAD_IDS, null];
const GOOD_LONG_ID = "Z".repeat(64);

describe("ids", () => {
  test("POST /learners: bad learner_id", async () => {
    for (const id of BAD_IDS) {
      assertError(
        await api.post("/learners", { learner_id: id, name: "n" }),
        400,
        "invalid_argument",
        `learner_id ${JSON.stringify(id)}`,
      );
    }
  });
  test("POST /groups: bad group_id", async () => {
    for (const id of BAD_IDS) {
      assertError(
        await api.post("/groups", { group_id: id, name: "n" }),
        400,
        "invalid_argument",
        `group_id ${JSON.stringify(id)}`,
      );
    }
  });
  test("POST /groups/{gid}/members: bad or missing learner_id", async () => {
    for (const id of BAD_REQUIRED_IDS) {
      assertError(
        await api.post("/groups/v-group/members", { learner_id: id }),
        400,
        "invalid_argument",
        `learner_id ${JSON.stringify(id)}`,
      );
    }
    assertError(await api.post("/groups/v-group/members", {}), 400, "invalid_argument", "no learner_id");
  });
  test("POST /learners/{lid}/lessons: bad or missing lesson_id", async () => {
    for (const id of BAD_REQUIRED_IDS) {
      const r = await api.post("/learners/v-learner/lessons", { lesson_id: id, minutes: 10, score: 10 });
      assertError(r, 400, "invalid_argument", `lesson_id ${JSON.stringify(id)}`);
    }
    assertError(
      await api.post("/learners/v-learner/lessons", { minutes: 10, score: 10 }),
      400,
      "invalid_argument",
      "no lesson_id",
    );
  });
  test("ids of 64 characters and of every allowed character class are accepted", async () => {
    assert.equal((await api.post("/learners", { learner_id: GOOD_LONG_ID, name: "long" })).status, 201);
    assert.equal((await api.post("/groups", { group_id: GOOD_LONG_ID, name: "long" })).status, 201);
    assert.equal((await api.post("/learners", { learner_id: "aZ09_-", name: "chars" })).status, 201);
    const r = await api.post(`/learners/${GOOD_LONG_ID}/lessons`, { lesson_id: GOOD_LONG_ID, minutes: 5, score: 5 });
    assert.equal(r.status, 201, r.text);
  });
  test("an id that is not an ID in the path is refused (400 invalid_argument or 404 not found)", async () => {
    // API.md does not say which status a malformed path id gets; either refusal is accepted
    // as long as nothing is written.
    const bad = ["a%20b", "x".repeat(65), "caf%C3%A9"];
    const refused = (r, notFound, label) =>
      r.status === 404 ? assertError(r, 404, notFound, label) : assertError(r, 400, "invalid_argument", label);
    for (const id of bad) {
      refused(
        await api.post(`/learners/${id}/lessons`, { lesson_id: "p1", minutes: 5, score: 5 }),
        "learner_not_found",
        `lessons of ${id}`,
      );
      refused(await api.get(`/learners/${id}/history`), "learner_not_found", `history of ${id}`);
      refused(
        await api.post(`/groups/${id}/members`, { learner_id: "v-learner" }),
        "group_not_found",
        `members of ${id}`,
      );
      for (const prefix of ["", "/naive"]) {
        refused(await api.get(`${prefix}/groups/${id}/learners`), "group_not_found", `${prefix}/groups/${id}/learners`);
      }
    }
  });
});

describe("names", () => {
  const bad = ["", "x".repeat(201), "\u65e5".repeat(67) /* 201 bytes */, 42, null, true, ["n"], { n: 1 }];
  for (const path of ["/learners", "/groups"]) {
    test(`POST ${path}: empty, too long, not a string or missing name`, async () => {
      for (const name of bad) {
        assertError(
          await api.post(path, { name }),
          400,
          "invalid_argument",
          `${path} name ${JSON.stringify(name).slice(0, 40)}`,
        );
      }
      assertError(await api.post(path, {}), 400, "invalid_argument", `${path} no name`);
    });
    test(`POST ${path}: names of 200 bytes (ASCII and multi-byte) are accepted`, async () => {
      const key = path === "/learners" ? "learner_id" : "group_id";
      for (const [i, name] of [
        "y".repeat(200),
        "\u65e5".repeat(66) + "ab" /* 200 bytes */,
        "\u00e9".repeat(100),
      ].entries()) {
        const id = `name200-${i}`;
        const r = await api.post(path, { [key]: id, name });
        assert.equal(r.status, 201, `${path} ${Buffer.byteLength(name)}-byte name: ${r.text}`);
        assert.deepEqual(r.body, { [key]: id });
      }
      if (path === "/learners") {
        await waitCaughtUp(stack);
        const h = await api.get("/learners/name200-1/history");
        assert.equal(h.status, 200, h.text);
        assert.equal(h.body.name, "\u65e5".repeat(66) + "ab", "multi-byte name round trip");
      }
    });
  }
});

describe("lessons", () => {
  const base = { minutes: 30, score: 80, completed_at: "2026-02-02T10:00:00Z" };
  let n = 0;
  const lesson = (over) => ({ lesson_id: `bad-${++n}`, ...base, ...over });

  test("minutes must be an integer in [1, 600]", async () => {
    for (const minutes of [0, -5, 601, 12.5, "30", null, true, [30], 1e9]) {
      const r = await api.post("/learners/v-learner/lessons", lesson({ minutes }));
      assertError(r, 400, "invalid_argument", `minutes ${JSON.stringify(minutes)}`);
    }
    const { minutes, ...noMinutes } = lesson({});
    assertError(await api.post("/learners/v-learner/lessons", noMinutes), 400, "invalid_argument", "no minutes");
  });
  test("score must be a number in [0, 100]", async () => {
    for (const score of [-1, -0.01, 100.01, 101, "50", null, true, [50]]) {
      const r = await api.post("/learners/v-learner/lessons", lesson({ score }));
      assertError(r, 400, "invalid_argument", `score ${JSON.stringify(score)}`);
    }
    const { score, ...noScore } = lesson({});
    assertError(await api.post("/learners/v-learner/lessons", noScore), 400, "invalid_argument", "no score");
  });
  test("completed_at must be RFC 3339", async () => {
    const bad = [
      "yesterday",
      "",
      "2026-02-02",
      "2026-02-02T10:00:00", // no offset
      "2026-13-01T10:00:00Z",
      "2026-02-30T10:00:00Z",
      "2026-02-02T25:00:00Z",
      "2026-02-02T10:60:00Z",
      "2026-02-02T10:00:00+25:00",
      "2026-02-02T10:00:00Zjunk",
      "02/02/2026 10:00",
      1770000000,
      ["2026-02-02T10:00:00Z"],
    ];
    for (const completed_at of bad) {
      const r = await api.post("/learners/v-learner/lessons", lesson({ completed_at }));
      assertError(r, 400, "invalid_argument", `completed_at ${JSON.stringify(completed_at)}`);
    }
  });
  test("boundaries are accepted: minutes 1 and 600, score 0, 100 and 99.5", async () => {
    for (const [id, minutes, score] of [
      ["b-1", 1, 0],
      ["b-2", 600, 100],
      ["b-3", 45, 99.5],
    ]) {
      const r = await api.post("/learners/v-learner/lessons", {
        lesson_id: id,
        minutes,
        score,
        completed_at: "2026-02-03T10:00:00Z",
      });
      assert.equal(r.status, 201, `${id}: ${r.text}`);
      assert.deepEqual(r.body, { accepted: true, duplicate: false });
    }
  });
  test("rejected lessons wrote nothing", async () => {
    // Raw stream: only the accepted lessons, none of the bad-* ids.
    const events = await readStream(stack, "learner-v-learner");
    const ids = events.filter((e) => e.type === "LessonCompleted").map((e) => e.data.lesson_id);
    assert.deepEqual(ids, ["v-ok", "b-1", "b-2", "b-3"]);
    await waitCaughtUp(stack);
    const h = await api.get("/learners/v-learner/history");
    assert.equal(h.status, 200, h.text);
    assert.deepEqual(
      h.body.history.map((x) => x.lesson_id),
      ["v-ok", "b-1", "b-2", "b-3"],
    );
    assert.equal(h.body.minutes, 10 + 1 + 600 + 45);
    assert.equal(h.body.lessons, 4);
    assert.equal(h.body.study_days, 2);
    assert.deepEqual(
      h.body.history.map((x) => x.score),
      [50, 0, 100, 99.5],
    );
    assert.equal(h.body.last_studied, utc("2026-02-03T10:00:00Z"));
  });
});

describe("not found and conflicts", () => {
  test("unknown learner: 404 learner_not_found", async () => {
    assertError(
      await api.post("/learners/nobody/lessons", { lesson_id: "x1", minutes: 5, score: 5 }),
      404,
      "learner_not_found",
      "lesson",
    );
    assertError(await api.get("/learners/nobody/history"), 404, "learner_not_found", "history");
    assertError(await api.post("/groups/v-group/members", { learner_id: "nobody" }), 404, "learner_not_found", "join");
    assert.deepEqual(await readStream(stack, "learner-nobody"), [], "nothing written for an unknown learner");
  });
  test("unknown group: 404 group_not_found", async () => {
    assertError(await api.post("/groups/nogroup/members", { learner_id: "v-learner" }), 404, "group_not_found", "join");
    assertError(await api.get("/groups/nogroup/learners"), 404, "group_not_found", "page");
    assertError(await api.get("/naive/groups/nogroup/learners"), 404, "group_not_found", "naive page");
    assertError(
      await api.get("/groups/nogroup/learners?sort=minutes&order=asc&limit=5"),
      404,
      "group_not_found",
      "page with params",
    );
    assert.deepEqual(await readStream(stack, "group-nogroup"), [], "nothing written for an unknown group");
  });
  test("duplicate learner: 409 learner_exists, the first name is kept", async () => {
    assertError(
      await api.post("/learners", { learner_id: "v-learner", name: "Impostor" }),
      409,
      "learner_exists",
      "learner",
    );
    const events = await readStream(stack, "learner-v-learner");
    assert.equal(events.filter((e) => e.type === "LearnerRegistered").length, 1);
    await waitCaughtUp(stack);
    assert.equal((await api.get("/learners/v-learner/history")).body.name, "Valid Learner");
  });
  test("duplicate group: 409 group_exists", async () => {
    assertError(await api.post("/groups", { group_id: "v-group", name: "Again" }), 409, "group_exists", "group");
    const events = await readStream(stack, "group-v-group");
    assert.equal(events.filter((e) => e.type === "GroupCreated").length, 1);
  });
});

describe("read API parameters", () => {
  const bad = [
    "sort=name",
    "sort=STUDY_DAYS",
    "sort=learner_id",
    "order=up",
    "order=descending",
    "limit=0",
    "limit=1001",
    "limit=-1",
    "limit=abc",
    "limit=1.5",
    "limit=10abc",
    "after=!!!",
    "after=%25%25%25",
    `after=${"~".repeat(300)}`,
    "sort=minutes&after=%00%01",
  ];
  for (const prefix of ["", "/naive"]) {
    test(`${prefix}/groups/{gid}/learners: bad sort, order, limit or cursor → 400`, async () => {
      for (const q of bad) {
        assertError(
          await api.get(`${prefix}/groups/v-group/learners?${q}`),
          400,
          "invalid_argument",
          `${prefix} ?${q}`,
        );
      }
    });
    test(`${prefix}/groups/{gid}/learners: limits 1 and 1000 are accepted`, async () => {
      for (const q of ["limit=1", "limit=1000", "sort=last_studied&order=asc&limit=1000"]) {
        const r = await api.get(`${prefix}/groups/v-group/learners?${q}`);
        assert.equal(r.status, 200, `${q}: ${r.text}`);
      }
    });
  }
});

test("a cursor belongs to one sort and order: another one is a 400", async () => {
  assert.equal((await api.post("/groups", { group_id: "v-cursor", name: "Cursor group" })).status, 201);
  for (const id of ["v-cur-a", "v-cur-b"]) {
    assert.equal((await api.post("/learners", { learner_id: id, name: id })).status, 201);
    assert.equal((await api.post("/groups/v-cursor/members", { learner_id: id })).status, 201);
  }
  await waitCaughtUp(stack);
  for (const prefix of ["", "/naive"]) {
    const first = await api.get(`${prefix}/groups/v-cursor/learners?sort=study_days&order=desc&limit=1`);
    assert.equal(first.status, 200, first.text);
    const next = first.body.next;
    assert.equal(typeof next, "string", `${prefix}: a first page of 1 of 2 learners has a next cursor`);
    const same = await api.get(`${prefix}/groups/v-cursor/learners?sort=study_days&order=desc&limit=1&after=${next}`);
    assert.equal(same.status, 200, same.text);
    assert.equal(same.body.learners.length, 1);
    assert.notEqual(same.body.learners[0].learner_id, first.body.learners[0].learner_id);
    for (const q of ["sort=study_days&order=asc", "sort=minutes&order=desc", "sort=last_studied"]) {
      assertError(
        await api.get(`${prefix}/groups/v-cursor/learners?${q}&after=${next}`),
        400,
        "invalid_argument",
        `${prefix} ?${q} with a study_days/desc cursor`,
      );
    }
  }
});

test("health", async () => {
  const r = await api.get("/health");
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: "ok" });
});
