// api.js: the requests of the UI, and how a refusal asks for an API key (auth.js's dialog) and tries
// again. Run by tests/web/test_js.py, with a fetch whose answers the test gives one by one and the
// few DOM objects the key dialog touches.

import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

/** An element as much as auth.js and dom.js use of one. */
class FakeElement {
  constructor(text = "") {
    this.textContent = text;
    this.listeners = new Map();
    this.children = [];
    this.dataset = {};
    this.value = "";
    this.checked = false;
    this.open = false;
    this.shown = 0;
  }
  setAttribute() {}
  appendChild(child) {
    this.children.push(child);
  }
  replaceChildren(...children) {
    this.children = children;
  }
  addEventListener(type, listener) {
    this.listeners.set(type, listener);
  }
  removeEventListener(type) {
    this.listeners.delete(type);
  }
  focus() {}
  showModal() {
    this.open = true;
    this.shown += 1;
  }
  close() {
    this.open = false;
  }
}

const dialog = new FakeElement();
const parts = {
  form: new FakeElement(),
  "input[name=key]": new FakeElement(),
  "input[name=remember]": new FakeElement(),
  ".auth-reason": new FakeElement(),
  "[data-cancel]": new FakeElement(),
};
dialog.querySelector = (selector) => parts[selector];

/** Storage as the browser's sessionStorage and localStorage. */
class FakeStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    this.items.set(key, String(value));
  }
  removeItem(key) {
    this.items.delete(key);
  }
}

globalThis.Node = FakeElement;
globalThis.document = {
  getElementById: () => dialog,
  createElement: () => new FakeElement(),
  createTextNode: (text) => new FakeElement(text),
};
globalThis.window = { dispatchEvent() {} };
globalThis.sessionStorage = new FakeStorage();
globalThis.localStorage = new FakeStorage();

/** Every request sent, with the key it carried and a way to answer it. */
let sent = [];
globalThis.fetch = (url, init) =>
  new Promise((resolve) => {
    const auth = init.headers.Authorization || "";
    sent.push({
      url,
      method: init.method,
      key: auth.replace("Bearer ", ""),
      answer: (status, body) =>
        resolve(new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } })),
    });
  });

const { ApiError, get, request } = await import("../../../src/threadline/web/app/api.js");

/** Let the promises run until `condition` holds. */
async function until(condition, what) {
  for (let i = 0; i < 200; i += 1) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.fail(`still waiting for ${what}`);
}

/** Type `key` into the open dialog and submit it. */
function enterKey(key) {
  assert.ok(dialog.open, "the key dialog is open");
  parts["input[name=key]"].value = key;
  parts.form.listeners.get("submit")({ preventDefault() {} });
}

const refused = { status: 401, code: "unauthorized", message: "this server needs an API key" };

beforeEach(() => {
  sent = [];
  sessionStorage.items.clear();
  localStorage.items.clear();
  dialog.shown = 0;
  dialog.open = false;
});

test("a 401 asks for a key once, then sends the request again with it", async () => {
  const answer = get("/ui/overview");
  await until(() => sent.length === 1, "the request");
  sent[0].answer(401, refused);
  await until(() => dialog.open, "the dialog");
  assert.equal(parts[".auth-reason"].children.at(-1), "this server needs an API key");
  enterKey("read-key");
  await until(() => sent.length === 2, "the retry");
  assert.equal(sent[1].key, "read-key");
  sent[1].answer(200, { ok: true });
  assert.deepEqual(await answer, { ok: true });
  assert.equal(dialog.shown, 1);
});

test("a refusal answered after the key was entered retries with that key without asking again", async () => {
  // a page sends its requests at once; the slow one's 401 comes back after the dialog has closed
  const fast = get("/catalog/entry");
  const slow = get("/catalog/entry/tags");
  await until(() => sent.length === 2, "both requests");
  sent[0].answer(401, refused);
  await until(() => dialog.open, "the dialog");
  enterKey("read-key");
  await until(() => sent.length === 3, "the first retry");
  sent[2].answer(200, { entry: 1 });
  assert.deepEqual(await fast, { entry: 1 });
  assert.equal(dialog.open, false);
  sent[1].answer(401, refused); // sent without a key, answered late
  await until(() => sent.length === 4, "the second retry");
  assert.equal(dialog.open, false, "no second dialog for the key just given");
  assert.equal(sent[3].key, "read-key");
  sent[3].answer(200, { tags: [] });
  assert.deepEqual(await slow, { tags: [] });
  assert.equal(dialog.shown, 1);
});

test("a key refused again is an ApiError, not a second dialog", async () => {
  const answer = get("/ui/overview");
  await until(() => sent.length === 1, "the request");
  sent[0].answer(401, refused);
  await until(() => dialog.open, "the dialog");
  enterKey("typo'd-key");
  await until(() => sent.length === 2, "the retry");
  sent[1].answer(401, { status: 401, code: "unauthorized", message: "the API key is not known" });
  await assert.rejects(answer, (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 401);
    assert.equal(error.message, "the API key is not known");
    return true;
  });
  assert.equal(dialog.shown, 1);
});

test("a 403 asks for a better key only where the caller says so (a write)", async () => {
  sessionStorage.setItem("threadline.apiKey", "read-key");
  const read = get("/catalog/entry");
  await until(() => sent.length === 1, "the read");
  sent[0].answer(403, { status: 403, code: "forbidden", message: "this needs write" });
  await assert.rejects(read, (error) => error.status === 403);
  assert.equal(dialog.shown, 0);

  const write = request("POST", "/catalog/tags", { a: 1 }, { scopeRetry: true });
  await until(() => sent.length === 2, "the write");
  assert.equal(sent[1].key, "read-key");
  sent[1].answer(403, { status: 403, code: "forbidden", message: "this needs write" });
  await until(() => dialog.open, "the dialog");
  enterKey("write-key");
  await until(() => sent.length === 3, "the retried write");
  assert.equal(sent[2].key, "write-key");
  assert.equal(sent[2].method, "POST");
  sent[2].answer(200, { name: "tag" });
  assert.deepEqual(await write, { name: "tag" });
});
