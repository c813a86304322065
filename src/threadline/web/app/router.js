// Client-side routes on real paths (the History API), so every view is a URL that can be shared and
// reloaded: the server answers index.html for any path outside /api and /static (server/web.py).
//
// A route is a pattern ("/datasets/:namespace/:name") and a render function. Render gets the decoded
// path parameters, the query (URLSearchParams), the element to fill and an AbortSignal that fires when
// the user moves on; it may return a cleanup function (e.g. to destroy a graph).

const routes = [];
let outlet = null;
let controller = null;
let cleanup = null;

/** Register a route. Parameters are ":name" segments, each one percent-encoded path segment. */
export function route(pattern, view) {
  const parts = pattern.split("/").filter(Boolean);
  routes.push({ parts, render: view });
}

function match(pathname) {
  // Keep the raw segments: an encoded "/" (%2F) inside a name must not split it.
  const segments = pathname.split("/").filter(Boolean);
  for (const candidate of routes) {
    if (candidate.parts.length !== segments.length) continue;
    const params = {};
    let ok = true;
    candidate.parts.forEach((part, i) => {
      if (!ok) return;
      if (part.startsWith(":")) {
        try {
          params[part.slice(1)] = decodeURIComponent(segments[i]);
        } catch {
          ok = false;
        }
      } else if (part !== segments[i]) {
        ok = false;
      }
    });
    if (ok) return { route: candidate, params };
  }
  return null;
}

async function render() {
  if (controller) controller.abort();
  if (cleanup) {
    try {
      cleanup();
    } catch (error) {
      console.error(error);
    }
  }
  cleanup = null;
  controller = new AbortController();
  const { signal } = controller;
  const found = match(window.location.pathname) || match("/__not_found__");
  outlet.replaceChildren();
  outlet.setAttribute("aria-busy", "true");
  try {
    const result = await found.route.render({
      params: found.params,
      query: new URLSearchParams(window.location.search),
      outlet,
      signal,
    });
    if (!signal.aborted && typeof result === "function") cleanup = result;
  } catch (error) {
    if (error.name !== "AbortError") throw error;
  } finally {
    if (!signal.aborted) outlet.removeAttribute("aria-busy");
  }
  document.dispatchEvent(new CustomEvent("threadline:rendered", { detail: { path: window.location.pathname } }));
}

/** Show `url` (a path with its query), adding a history entry unless `replace`. */
export function navigate(url, { replace = false } = {}) {
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  window.scrollTo(0, 0);
  return render();
}

/** The query of `params`: arrays repeat the key; null, undefined, "" and false leave it out. */
export function searchParams(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (Array.isArray(value)) {
      for (const item of value) search.append(key, String(item));
      continue;
    }
    if (value === null || value === undefined || value === "" || value === false) continue;
    search.set(key, String(value));
  }
  return search;
}

/**
 * Change the query of the current URL without showing the page again (searchParams) (a view that updates itself,
 * like the lineage view, keeps the URL in step so it can be shared). `push` adds a history entry.
 */
export function setQuery(params, { push = false } = {}) {
  const text = searchParams(params).toString();
  const url = `${window.location.pathname}${text ? `?${text}` : ""}`;
  if (url === `${window.location.pathname}${window.location.search}`) return;
  if (push) window.history.pushState(null, "", url);
  else window.history.replaceState(null, "", url);
}

/** Start routing: render the current URL, follow links marked data-link, and back/forward. */
export function start(element) {
  outlet = element;
  document.addEventListener("click", (event) => {
    const anchor = event.target.closest("a[data-link]");
    if (!anchor || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const url = new URL(anchor.href, window.location.href);
    if (url.origin !== window.location.origin) return;
    event.preventDefault();
    navigate(`${url.pathname}${url.search}`);
  });
  window.addEventListener("popstate", () => render());
  return render();
}
