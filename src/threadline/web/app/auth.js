// The API key, when the server asks for one.
//
// The server answers 401 when it needs a key; the UI then asks for one in a dialog and retries. The key
// is kept in sessionStorage by default: it lives as long as the tab and is not written to disk, which
// suits a shared screen. "Remember on this browser" moves it to localStorage, so new tabs and shared
// links open without asking again. Either way only this origin's scripts can read it, and the UI runs
// no script but its own (see the Content-Security-Policy in server/web.py).

import { h } from "./dom.js";

const KEY = "threadline.apiKey";

/** The stored key, or null. */
export function getKey() {
  return sessionStorage.getItem(KEY) || localStorage.getItem(KEY);
}

/** Store `key` (in localStorage when `remember`), replacing any other. */
export function setKey(key, remember) {
  forgetKey();
  (remember ? localStorage : sessionStorage).setItem(KEY, key);
}

/** Forget the key everywhere. */
export function forgetKey() {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}

let pending = null;

/**
 * Ask for a key (one dialog however many requests wait for it). Resolves when a key was entered;
 * rejects when the dialog is cancelled. `reason` is the server's message, shown as text.
 */
export function askForKey(reason) {
  if (pending) return pending;
  pending = new Promise((resolve, reject) => {
    const dialog = document.getElementById("auth-dialog");
    const form = dialog.querySelector("form");
    const input = dialog.querySelector("input[name=key]");
    const remember = dialog.querySelector("input[name=remember]");
    const message = dialog.querySelector(".auth-reason");
    message.replaceChildren(h("strong", null, "This server needs an API key. "), reason || "");
    input.value = "";
    remember.checked = Boolean(localStorage.getItem(KEY));
    const done = (ok) => {
      form.removeEventListener("submit", onSubmit);
      dialog.removeEventListener("cancel", onCancel);
      dialog.querySelector("[data-cancel]").removeEventListener("click", onCancel);
      if (dialog.open) dialog.close();
      pending = null;
      ok ? resolve() : reject(new Error("no API key given"));
    };
    const onSubmit = (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      setKey(key, remember.checked);
      done(true);
    };
    const onCancel = (event) => {
      event.preventDefault();
      done(false);
    };
    form.addEventListener("submit", onSubmit);
    dialog.addEventListener("cancel", onCancel);
    dialog.querySelector("[data-cancel]").addEventListener("click", onCancel);
    dialog.showModal();
    input.focus();
  });
  return pending;
}

/** Show the "key" button in the header once a key is in use, so it can be changed or forgotten. */
export function setupKeyButton() {
  const button = document.getElementById("key-button");
  const refresh = () => {
    button.hidden = !getKey();
  };
  button.addEventListener("click", () => {
    forgetKey();
    refresh();
    window.location.reload();
  });
  refresh();
  window.addEventListener("threadline:key", refresh);
}
