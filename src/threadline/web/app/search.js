// The search box in the header: type-ahead over datasets, jobs, runs (by id) and columns.
//
// It is an ARIA combobox: arrow keys move through the suggestions, Enter opens the highlighted one (or
// the full results page), Escape closes the list, "/" anywhere focuses the box. Each keystroke cancels
// the previous request, and requests wait for a 120 ms pause in typing.

import { api } from "./api.js";
import { debounce, h } from "./dom.js";
import { datasetId, datasetUrl, fieldId, jobUrl, lineageUrl, pageUrl, runUrl } from "./nodes.js";
import { navigate } from "./router.js";

const KIND_LABEL = { DATASET: "dataset", JOB: "job", RUN: "run", COLUMN: "column" };

/** Search results of both endpoints as one list of suggestions: {kind, title, subtitle, href, lineage}. */
export async function suggestions(q, { signal, limit = 8 } = {}) {
  const [named, columns] = await Promise.all([
    api.search(q, limit, { signal }),
    api.columns(q, { signal }).catch((error) => {
      if (error.name === "AbortError") throw error;
      return { results: [] };
    }),
  ]);
  const items = named.results.map((r) => {
    if (r.type === "RUN") {
      return { kind: "RUN", title: r.name, subtitle: r.namespace, href: runUrl(r.name), lineage: null, id: r.nodeId };
    }
    const href = r.type === "DATASET" ? datasetUrl(r.namespace, r.name) : jobUrl(r.namespace, r.name);
    const subtitle = r.match === "field" ? `${r.namespace} · has a matching column` : r.namespace;
    return { kind: r.type, title: r.name, subtitle, href, lineage: lineageUrl(r.nodeId), id: r.nodeId };
  });
  for (const c of columns.results) {
    const id = fieldId(c.namespace, c.dataset, c.field);
    items.push({
      kind: "COLUMN",
      title: c.field,
      subtitle: `${c.dataset} · ${c.type || "no type"}`,
      href: pageUrl(id),
      lineage: lineageUrl(datasetId(c.namespace, c.dataset), { view: "columns", field: c.field }),
      id,
    });
  }
  return { items, total: named.totalCount + columns.results.length };
}

export function setupSearch() {
  const input = document.getElementById("search");
  const list = document.getElementById("search-results");
  let items = [];
  let active = -1;
  let controller = null;

  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };

  const highlight = (index) => {
    active = index;
    [...list.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    if (index >= 0 && list.children[index]) {
      input.setAttribute("aria-activedescendant", list.children[index].id);
      list.children[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  };

  const open = (item) => {
    close();
    input.blur();
    navigate(item.href);
  };

  const show = (q, found) => {
    items = found.items;
    const rows = items.map((item, i) => {
      const li = h(
        "li",
        {
          id: `search-option-${i}`,
          role: "option",
          "aria-selected": "false",
          class: "search-option",
          dataset: { kind: item.kind.toLowerCase() },
        },
        h("span", { class: `kind-badge kind-${item.kind.toLowerCase()}` }, KIND_LABEL[item.kind]),
        h(
          "span",
          { class: "search-text" },
          h("span", { class: "search-title" }, item.title),
          h("span", { class: "search-subtitle" }, item.subtitle),
        ),
        item.lineage
          ? h(
              "a",
              {
                href: item.lineage,
                "data-link": "",
                class: "search-lineage",
                title: "Open its lineage",
                onclick: (event) => {
                  event.stopPropagation();
                  close();
                },
              },
              "lineage",
            )
          : null,
      );
      li.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus in the box
      li.addEventListener("click", (event) => {
        if (event.target.closest(".search-lineage")) return;
        open(item);
      });
      return li;
    });
    if (!rows.length) rows.push(h("li", { class: "search-empty", role: "presentation" }, `Nothing matches “${q}”.`));
    else
      rows.push(
        h(
          "li",
          { class: "search-all", role: "presentation" },
          h(
            "a",
            { href: `/search?q=${encodeURIComponent(q)}`, "data-link": "", onclick: close },
            `All results for “${q}”`,
          ),
        ),
      );
    list.replaceChildren(...rows);
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight(items.length ? 0 : -1);
  };

  const lookup = debounce(async (q) => {
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const found = await suggestions(q, { signal: controller.signal });
      if (input.value.trim() === q) show(q, found);
    } catch (error) {
      if (error.name === "AbortError") return;
      list.replaceChildren(h("li", { class: "search-empty", role: "presentation" }, error.message));
      list.hidden = false;
    }
  }, 120);

  input.addEventListener("input", () => {
    const q = input.value.trim();
    if (!q) {
      close();
      return;
    }
    lookup(q);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && items.length) {
      event.preventDefault();
      highlight((active + 1) % items.length);
    } else if (event.key === "ArrowUp" && items.length) {
      event.preventDefault();
      highlight((active - 1 + items.length) % items.length);
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (!list.hidden && active >= 0 && items[active]) open(items[active]);
      else if (input.value.trim()) {
        close();
        navigate(`/search?q=${encodeURIComponent(input.value.trim())}`);
      }
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
  input.addEventListener("focus", () => {
    if (input.value.trim() && items.length) list.hidden = false;
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "/" && !event.target.closest("input, textarea, select, [contenteditable]")) {
      event.preventDefault();
      input.focus();
      input.select();
    }
  });
}
