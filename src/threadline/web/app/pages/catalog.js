// The Data Catalog's pages: search (Data Catalog's grammar, type-ahead, facets), an entry (type, system, links to
// lineage, schema with column tags, tags as typed cards with the template's names, history, a form to
// tag it), and the tag templates.

import { catalog } from "../catalog-api.js";
import { debounce, details, formatTime, h, link, relativeTime, replace, section, table } from "../dom.js";
import { datasetUrl, lineageUrl, parseNodeId } from "../nodes.js";
import { navigate } from "../router.js";
import { errorBox, pageHeader } from "./common.js";

const PAGE = 20;

const entryUrl = (name) => {
  const [, group, , entry] = name.split("/");
  return `/catalog/entryGroups/${encodeURIComponent(group)}/entries/${encodeURIComponent(entry)}`;
};
const lastPart = (name) =>
  String(name || "")
    .split("/")
    .pop();

const SUGGEST_KINDS = {
  qualifier: "qualifier",
  template: "template",
  field: "field",
  value: "value",
  entry: "entry",
  type: "type",
  system: "system",
  parent: "group",
  name: "entry",
};

/**
 * Type-ahead on the query box (an ARIA combobox, like the header's search): as the user types, the
 * server's suggestions for the query's last word (qualifiers, templates, their fields and values,
 * types, systems, groups, entries), asked after a 150 ms pause, each keystroke cancelling the request
 * before. Arrow keys move; Enter takes the suggestion moved to (else it searches), Tab the one moved
 * to or the first; an entry opens its page, the rest complete the word (a qualifier waiting for its
 * value asks again); Escape closes the list.
 * Returns the list element, to place under the box.
 */
function typeAhead(box) {
  const list = h("ul", { id: "catalog-suggestions", role: "listbox", class: "catalog-suggestions", hidden: true });
  box.setAttribute("role", "combobox");
  box.setAttribute("aria-autocomplete", "list");
  box.setAttribute("aria-controls", "catalog-suggestions");
  box.setAttribute("aria-expanded", "false");
  box.setAttribute("autocomplete", "off");
  let items = [];
  let shownFor = null; // the query the suggestions shown are for
  let active = -1;
  let controller = null;
  const close = () => {
    list.hidden = true;
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (index) => {
    active = index;
    [...list.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    if (index >= 0 && list.children[index]) box.setAttribute("aria-activedescendant", list.children[index].id);
    else box.removeAttribute("aria-activedescendant");
  };
  let ask = () => {};
  const take = (item) => {
    close();
    if (item.entry) {
      navigate(entryUrl(item.entry));
      return;
    }
    box.value = item.query;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
    if (!item.complete) ask(box.value);
  };
  const show = (found) => {
    items = found.suggestions;
    shownFor = box.value;
    if (!items.length) {
      close();
      return;
    }
    list.replaceChildren(
      ...items.map((item, i) => {
        const li = h(
          "li",
          { id: `catalog-suggestion-${i}`, role: "option", "aria-selected": "false", class: "search-option" },
          h("span", { class: "kind-badge" }, SUGGEST_KINDS[item.kind] || item.kind),
          h(
            "span",
            { class: "search-text" },
            h("span", { class: "search-title" }, item.kind === "entry" ? item.label : item.text),
            h(
              "span",
              { class: "search-subtitle" },
              item.kind === "entry"
                ? item.detail
                : [item.label, item.detail].filter((t) => t && t !== item.text).join(" · "),
            ),
          ),
        );
        li.addEventListener("mousedown", (event) => event.preventDefault()); // keep the focus in the box
        li.addEventListener("click", () => take(item));
        return li;
      }),
    );
    list.hidden = false;
    box.setAttribute("aria-expanded", "true");
    highlight(-1);
  };
  ask = debounce(async (q) => {
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const found = await catalog.suggest(q, { signal: controller.signal });
      if (box.value === q && document.activeElement === box) show(found);
    } catch (error) {
      if (error.name !== "AbortError") close(); // type-ahead is a help: the search itself says what is wrong
    }
  }, 150);
  box.addEventListener("input", () => ask(box.value));
  box.addEventListener("focus", () => ask(box.value));
  box.addEventListener("blur", () => setTimeout(close, 150));
  box.addEventListener("keydown", (event) => {
    // suggestions for what the box held before the last keystroke are not taken: newer ones are coming
    const open = !list.hidden && items.length && shownFor === box.value;
    if (event.key === "ArrowDown" && open) {
      event.preventDefault();
      highlight((active + 1) % items.length);
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      highlight((active - 1 + items.length) % items.length);
    } else if (event.key === "Enter" && open && active >= 0) {
      event.preventDefault(); // a suggestion chosen with the arrows; else Enter searches
      take(items[active]);
    } else if (event.key === "Tab" && open && !event.shiftKey) {
      event.preventDefault();
      take(items[Math.max(active, 0)]);
    } else if (event.key === "Tab" && !list.hidden && !event.shiftKey) {
      event.preventDefault(); // the list is being brought up to date: stay in the box
    } else if (event.key === "Escape") {
      close();
    }
  });
  return list;
}

/** A search page: the query box with type-ahead, the results, and facet counts that narrow the query. */
export async function catalogSearchPage({ query, outlet, signal }) {
  document.title = "Catalog · threadline";
  const q = query.get("q") || "";
  const token = query.get("page") || "";
  const box = h("input", {
    type: "search",
    name: "q",
    value: q,
    id: "catalog-query",
    class: "wide",
    placeholder: "tag:lineage_notes.usage:training   type=TABLE   name:orders   (a OR b) -c",
    "aria-label": "Catalog query",
  });
  const form = h(
    "form",
    {
      class: "catalog-search",
      onsubmit: (event) => {
        event.preventDefault();
        navigate(`/catalog?q=${encodeURIComponent(box.value.trim())}`);
      },
    },
    h("div", { class: "catalog-query-box" }, box, typeAhead(box)),
    h("button", { type: "submit" }, "Search"),
  );
  const help = h(
    "p",
    { class: "muted small" },
    "Words match names, descriptions and columns; qualifiers: name:, column:, description:, type=, system=, parent:, label.KEY:, ",
    "createtime/updatetime with = < > <= >=, tag:TEMPLATE, tag:TEMPLATE.FIELD with : (text), = (bool, enum) or = < > <= >= (numbers, times); AND, OR, NOT, -, ( ).",
  );
  const header = pageHeader({
    title: "Catalog",
    subtitle: "Entries, tags and templates",
    actions: [link("/catalog/templates", "Tag templates")],
  });
  if (!q) {
    replace(outlet, header, section("Search the catalog", form, help));
    box.focus();
    return;
  }
  let answer;
  try {
    answer = await catalog.search({ query: q, pageSize: PAGE, pageToken: token || undefined }, { signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    replace(outlet, header, section("Search the catalog", form, help), errorBox(error));
    return;
  }
  const narrow = (clause) => `/catalog?q=${encodeURIComponent(`${q} ${clause}`)}`;
  const facet = (title, counts, clause) => {
    const entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1]);
    if (!entries.length) return null;
    return h(
      "div",
      { class: "facet" },
      h("h3", null, title),
      h(
        "ul",
        null,
        entries.map(([value, n]) =>
          h("li", null, link(narrow(clause(value)), value), h("span", { class: "muted" }, ` ${n}`)),
        ),
      ),
    );
  };
  const results = answer.results.map((r) =>
    h(
      "li",
      { class: "catalog-result" },
      h(
        "div",
        null,
        h("span", { class: "kind-badge" }, r.searchResultSubtype.replace("entry.", "").toUpperCase()),
        " ",
        link(entryUrl(r.relativeResourceName), r.displayName || lastPart(r.relativeResourceName)),
      ),
      h(
        "div",
        { class: "muted small" },
        resultPlace(r),
        r.userSpecifiedSystem ? ` · ${r.userSpecifiedSystem}` : "",
        ` · changed ${relativeTime(r.modifyTime)}`,
      ),
      r.description ? h("p", null, r.description) : null,
    ),
  );
  const more = answer.nextPageToken
    ? link(`/catalog?q=${encodeURIComponent(q)}&page=${encodeURIComponent(answer.nextPageToken)}`, "More results →")
    : null;
  replace(
    outlet,
    header,
    section("Search the catalog", form, help),
    h(
      "div",
      { class: "catalog-layout" },
      h(
        "aside",
        { class: "card facets", "aria-label": "Facets" },
        facet("Type", answer.facets?.type, (v) => `type=${v}`),
        facet("System", answer.facets?.system, (v) => `system=${v}`),
        facet("Template", answer.facets?.template, (v) => `tag:${v}`),
      ),
      section(
        `${answer.totalSize.toLocaleString()} ${answer.totalSize === 1 ? "entry" : "entries"}`,
        answer.results.length
          ? h("ul", { class: "catalog-results", id: "catalog-results" }, results)
          : h("p", { class: "empty" }, "No entry matches."),
        more,
      ),
    ),
  );
}

/** A tag field's value, formatted by its type. */
function valueText(value) {
  if ("stringValue" in value) return value.stringValue;
  if ("richtextValue" in value) return value.richtextValue;
  if ("doubleValue" in value) return String(value.doubleValue);
  if ("boolValue" in value) return value.boolValue ? "yes" : "no";
  if ("timestampValue" in value) return formatTime(value.timestampValue);
  if ("enumValue" in value) return value.enumValue.displayName;
  return JSON.stringify(value);
}

/** A tag as a card: the template's display name, then its fields in the template's order; a person's
 * tag (not a producer's, not a propagated one) with Edit and Delete when `actions` are given. */
function tagCard(tag, actions = null) {
  const fields = Object.entries(tag.fields || {}).sort((a, b) => (b[1].order || 0) - (a[1].order || 0));
  return h(
    "div",
    { class: `tag-card source-${String(tag.source || "USER").toLowerCase()}` },
    h(
      "div",
      { class: "tag-card-title" },
      tag.templateDisplayName || lastPart(tag.template),
      tag.column ? h("span", { class: "muted small" }, ` on ${tag.column}`) : null,
      tag.source && tag.source !== "USER" ? h("span", { class: "tag" }, tag.source.toLowerCase()) : null,
    ),
    tag.propagatedFrom
      ? h(
          "div",
          { class: "muted small" },
          `propagated from ${tag.propagatedFrom.tag.split("/tags/")[0]} column ${tag.propagatedFrom.column}`,
          tag.via?.length ? ` via ${tag.via.join(" → ")}` : "",
        )
      : null,
    h(
      "dl",
      { class: "details" },
      fields.flatMap(([id, value]) => [h("dt", null, value.displayName || id), h("dd", null, valueText(value))]),
    ),
    actions && (!tag.source || tag.source === "USER") ? tagActions(tag, actions) : null,
  );
}

/** Edit (fills the form with the tag) and Delete (asks to confirm in place, then deletes). */
function tagActions(tag, { edit, remove }) {
  const box = h("div", { class: "tag-card-actions" });
  const status = h("span", { class: "muted small", role: "status" });
  let confirm = () => {};
  const idle = () =>
    replace(
      box,
      h(
        "button",
        { type: "button", class: "small ghost", "data-action": "edit-tag", onclick: () => edit(tag) },
        "Edit",
      ),
      h(
        "button",
        { type: "button", class: "small ghost", "data-action": "delete-tag", onclick: () => confirm() },
        "Delete",
      ),
      status,
    );
  confirm = () =>
    replace(
      box,
      h("span", { class: "small" }, "Delete this tag? "),
      h(
        "button",
        {
          type: "button",
          class: "small danger",
          "data-action": "confirm-delete",
          onclick: async () => {
            replace(box, h("span", { class: "muted small" }, "Deleting…"));
            try {
              await remove(tag);
            } catch (error) {
              idle();
              status.textContent = ` Not deleted: ${error.message}`;
            }
          },
        },
        "Delete",
      ),
      h("button", { type: "button", class: "small ghost", onclick: idle }, "Keep"),
    );
  idle();
  return box;
}

/** A tag field's value as the form's input holds it. */
function inputText(value) {
  if (!value) return "";
  if ("stringValue" in value) return value.stringValue;
  if ("richtextValue" in value) return value.richtextValue;
  if ("doubleValue" in value) return String(value.doubleValue);
  if ("boolValue" in value) return String(value.boolValue);
  if ("timestampValue" in value) return value.timestampValue;
  if ("enumValue" in value) return value.enumValue.displayName;
  return "";
}

function columnRows(columns, prefix, tagsByColumn) {
  return (columns || []).flatMap((c) => {
    const path = `${prefix}${c.column}`;
    const tags = tagsByColumn.get(path) || [];
    return [
      [
        h("code", null, path),
        c.type || "",
        c.mode || "",
        tags.map((t) => h("span", { class: "tag" }, t.templateDisplayName || lastPart(t.template))),
        c.description || "",
      ],
      ...columnRows(c.subcolumns, `${path}.`, tagsByColumn),
    ];
  });
}

/**
 * A form that writes a tag of a chosen template on the entry or a column (needs a key with the write
 * scope: the server's 401 or 403 asks for one). When the entry already has that tag, the form holds
 * its values and updates it. Returns {form, edit(tag)}: `edit` fills the form with a tag.
 */
function tagForm(group, entryId, templates, columns, tags, onWritten) {
  const status = h("p", { class: "muted small", role: "status" });
  const fieldsBox = h("div", { class: "tag-fields" });
  const select = h(
    "select",
    { name: "template", "aria-label": "Template" },
    templates.map((t) => h("option", { value: lastPart(t.name) }, t.displayName || lastPart(t.name))),
  );
  const column = h(
    "select",
    { name: "column", "aria-label": "Column" },
    h("option", { value: "" }, "the entry itself"),
    columns.map((c) => h("option", { value: c }, c)),
  );
  const inputs = new Map();
  const button = h("button", { type: "submit" }, "Save tag");
  const render = () => {
    inputs.clear();
    const template = templates.find((t) => lastPart(t.name) === select.value);
    const current = tags.find(
      (t) =>
        lastPart(t.template) === select.value && (t.column || "") === column.value && (t.source || "USER") === "USER",
    );
    button.textContent = current ? "Update tag" : "Save tag";
    const fields = Object.entries(template?.fields || {}).sort((a, b) => (b[1].order || 0) - (a[1].order || 0));
    replace(
      fieldsBox,
      ...fields.map(([id, f]) => {
        const type = f.type.primitiveType || "ENUM";
        let input;
        if (type === "BOOL")
          input = h(
            "select",
            { name: id },
            h("option", { value: "" }, "–"),
            h("option", { value: "true" }, "yes"),
            h("option", { value: "false" }, "no"),
          );
        else if (type === "ENUM")
          input = h(
            "select",
            { name: id },
            h("option", { value: "" }, "–"),
            f.type.enumType.allowedValues.map((v) => h("option", { value: v.displayName }, v.displayName)),
          );
        else
          input = h("input", {
            name: id,
            type: type === "DOUBLE" ? "number" : "text",
            step: "any",
            placeholder: type === "TIMESTAMP" ? "2026-01-31T12:00:00Z" : "",
          });
        input.value = inputText(current?.fields?.[id]);
        inputs.set(id, [type, input]);
        return h(
          "label",
          null,
          `${f.displayName || id}${f.isRequired ? " *" : ""} `,
          h("span", { class: "muted small" }, type.toLowerCase()),
          input,
        );
      }),
    );
  };
  select.addEventListener("change", render);
  column.addEventListener("change", render);
  render();
  const submit = async (event) => {
    event.preventDefault();
    const fields = {};
    for (const [id, [type, input]] of inputs) {
      const value = input.value;
      if (value === "") continue;
      if (type === "DOUBLE") fields[id] = { doubleValue: Number(value) };
      else if (type === "BOOL") fields[id] = { boolValue: value === "true" };
      else if (type === "ENUM") fields[id] = { enumValue: { displayName: value } };
      else if (type === "TIMESTAMP") fields[id] = { timestampValue: value };
      else if (type === "RICHTEXT") fields[id] = { richtextValue: value };
      else fields[id] = { stringValue: value };
    }
    status.textContent = "Saving…";
    try {
      await catalog.writeTag(group, entryId, {
        template: `tagTemplates/${select.value}`,
        column: column.value,
        fields,
      });
      status.textContent = "Saved.";
      onWritten();
    } catch (error) {
      status.textContent = `Not saved: ${error.message}${error.advice ? ` ${error.advice}` : ""}`;
    }
  };
  const form = h(
    "form",
    { class: "tag-form", onsubmit: submit },
    h("label", null, "Template ", select),
    h("label", null, "On ", column),
    fieldsBox,
    button,
    status,
  );
  const edit = (tag) => {
    select.value = lastPart(tag.template);
    column.value = tag.column || "";
    render();
    status.textContent = "";
    form.scrollIntoView({ block: "center" });
    fieldsBox.querySelector("input, select")?.focus();
  };
  return { form, edit };
}

/**
 * The rows of an entry's history with its tags' (newest first): when, created/changed/deleted (each
 * resource's first change, or one after a deletion, creates it), what (the entry, or a tag by its
 * template's display name and column: a deleted tag's from its name), and the API key's name.
 */
function historyRows(history, templates) {
  const titles = new Map(templates.map((t) => [t.name.split("/").pop(), t.displayName || t.name.split("/").pop()]));
  const last = new Map();
  const rows = history.map((c) => {
    const before = last.get(c.name);
    last.set(c.name, c.action);
    const change = c.action === "delete" ? "deleted" : !before || before === "delete" ? "created" : "changed";
    let what = "entry";
    if (c.kind === "tag") {
      const [template, column] = c.name.split("/tags/").pop().split("@");
      what = `tag ${titles.get(template) || template}${column ? ` on column ${column}` : ""}`;
    }
    return [h("span", { title: formatTime(c.time) }, relativeTime(c.time)), change, what, c.by || "–"];
  });
  return rows.reverse();
}

/** Where a search result is: its name, or for lineage's own entry (a system group @NAMESPACE, whose
 * ids are encoded) the namespace lineage has it in. */
function resultPlace(r) {
  const group = r.relativeResourceName.split("/")[1] || "";
  if (!group.startsWith("@") || !r.linkedResource) return r.relativeResourceName;
  const node = parseNodeId(r.linkedResource);
  return node ? `${node.kind} in ${node.namespace} · lineage's own entry` : r.relativeResourceName;
}

/** An entry: what it is, where lineage has it, its schema and tags, and its history. */
export async function catalogEntryPage({ params, outlet, signal }) {
  const { group, entry: entryId } = params;
  document.title = `${entryId} · catalog · threadline`;
  let entry;
  let tags;
  let history;
  let templates;
  try {
    [entry, { tags }, { changes: history }, { tagTemplates: templates }] = await Promise.all([
      catalog.entry(group, entryId, { signal }),
      catalog.tags(group, entryId, { signal }),
      catalog.history(group, entryId, { signal }),
      catalog.templates({ signal }),
    ]);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    replace(outlet, pageHeader({ title: entryId, subtitle: group }), errorBox(error));
    return;
  }
  const extra = entry.threadline || {};
  const kind = entry.type || entry.userSpecifiedType;
  const node = extra.linkedNode ? parseNodeId(extra.linkedNode) : null;
  const header = pageHeader({
    kind: String(kind || "").toLowerCase(),
    title: entry.displayName || entryId,
    // lineage's own entry (a system group @NAMESPACE): where lineage has it, not its encoded id
    subtitle: group.startsWith("@") && node ? `${node.namespace} · lineage's own entry` : `${group} / ${entryId}`,
    actions: node
      ? [
          h(
            "a",
            { href: lineageUrl(extra.linkedNode), "data-link": "", class: "button", id: "open-lineage" },
            "Lineage",
          ),
        ]
      : [],
  });
  const ownTags = tags.filter((t) => t.source !== "INTEGRATION");
  const byColumn = new Map();
  for (const tag of tags) if (tag.column) byColumn.set(tag.column, [...(byColumn.get(tag.column) || []), tag]);
  const columns = columnRows(entry.schema?.columns, "", byColumn);
  const matching = extra.matchingDatasets || [];
  const reload = () => navigate(window.location.pathname + window.location.search, { replace: true });
  const form = templates.length
    ? tagForm(
        group,
        entryId,
        templates,
        columns.map((row) => row[0].textContent),
        tags,
        reload,
      )
    : null;
  const actions = form
    ? {
        edit: form.edit,
        remove: async (tag) => {
          await catalog.deleteTag(group, entryId, tag.name.split("/tags/").pop());
          reload();
        },
      }
    : null;
  const card = (tag) => tagCard(tag, actions);
  replace(
    outlet,
    header,
    h(
      "div",
      { class: "columns-2" },
      section(
        "About",
        details([
          ["Type", kind],
          ["System", entry.userSpecifiedSystem],
          ["Description", entry.description],
          [
            "Linked to",
            node
              ? link(
                  node.kind === "job"
                    ? `/jobs/${encodeURIComponent(node.namespace)}/${encodeURIComponent(node.name)}`
                    : datasetUrl(node.namespace, node.name),
                  extra.linkedNode,
                )
              : entry.linkedResource,
          ],
          [
            "File patterns",
            entry.gcsFilesetSpec
              ? entry.gcsFilesetSpec.filePatterns.map((p) => h("code", { class: "block" }, p))
              : null,
          ],
          [
            "Labels",
            Object.keys(entry.labels || {}).length
              ? Object.entries(entry.labels).map(([k, v]) => h("span", { class: "tag" }, `${k}: ${v}`))
              : null,
          ],
          ["Created", formatTime(entry.dataCatalogTimestamps?.createTime)],
          ["Updated", formatTime(entry.dataCatalogTimestamps?.updateTime)],
        ]),
      ),
      section(
        `Tags (${ownTags.filter((t) => !t.column).length})`,
        h("div", { class: "tag-cards", id: "entry-tags" }, tags.filter((t) => !t.column).map(card)),
        tags.some((t) => !t.column)
          ? null
          : h(
              "p",
              { class: "empty" },
              tags.length
                ? `None on the entry itself; ${tags.length === 1 ? "1 tag" : `${tags.length} tags`} on its columns, below.`
                : "No tags yet.",
            ),
      ),
    ),
    matching.length || entry.gcsFilesetSpec
      ? section(
          `Datasets matching the file patterns (${matching.length})`,
          h(
            "ul",
            { id: "matching-datasets" },
            matching.map((id) => {
              const d = parseNodeId(id);
              return h(
                "li",
                null,
                link(datasetUrl(d.namespace, d.name), `${d.namespace}/${d.name}`),
                " ",
                link(lineageUrl(id), h("span", { class: "small" }, "lineage")),
              );
            }),
          ),
        )
      : null,
    section(
      `Schema (${columns.length} columns)`,
      table(["Column", "Type", "Mode", "Tags", "Description"], columns, { empty: "No schema." }),
      [...byColumn.values()].flat().length
        ? h("div", { class: "tag-cards", id: "column-tags" }, [...byColumn.values()].flat().map(card))
        : null,
    ),
    form ? section("Tag this entry", form.form) : null,
    section(
      "History",
      table(["When", "Change", "What", "By"], historyRows(history, templates), {
        empty: "No changes yet: lineage writes this entry; the changes of its tags show here.",
      }),
    ),
  );
}

/** The catalog entry of a lineage dataset or job (`?linkedResource=dataset:NS:NAME`): a registered
 * entry that links it, else lineage's own; the page opens in its place. */
export async function catalogLookupPage({ query, outlet, signal }) {
  const resource = query.get("linkedResource") || "";
  document.title = "Catalog entry · threadline";
  try {
    const entry = await catalog.lookup(resource, { signal });
    navigate(entryUrl(entry.name), { replace: true });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    replace(outlet, pageHeader({ title: "Catalog entry", subtitle: resource }), errorBox(error));
  }
}

/** The tag templates, with their typed fields. */
export async function catalogTemplatesPage({ outlet, signal }) {
  document.title = "Tag templates · threadline";
  let templates;
  try {
    ({ tagTemplates: templates } = await catalog.templates({ signal }));
  } catch (error) {
    if (error.name === "AbortError") throw error;
    replace(outlet, pageHeader({ title: "Tag templates" }), errorBox(error));
    return;
  }
  replace(
    outlet,
    pageHeader({
      title: "Tag templates",
      subtitle: "Typed fields that tags fill",
      actions: [link("/catalog", "Search")],
    }),
    templates.length
      ? templates.map((t) =>
          section(
            t.displayName || lastPart(t.name),
            h("p", { class: "muted small" }, lastPart(t.name), t.description ? ` · ${t.description}` : ""),
            table(
              ["Field", "Display name", "Type", "Required", "Description"],
              Object.entries(t.fields || {}).map(([id, f]) => [
                h("code", null, id),
                f.displayName || "",
                f.type.primitiveType || `ENUM (${f.type.enumType.allowedValues.map((v) => v.displayName).join(", ")})`,
                f.isRequired ? "yes" : "",
                f.description || "",
              ]),
            ),
            link(`/catalog?q=${encodeURIComponent(`tag:${lastPart(t.name)}`)}`, "Entries with this tag →"),
          ),
        )
      : section(
          "No templates",
          h("p", { class: "empty" }, "threadline catalog template set ID --field name:STRING creates one."),
        ),
  );
}
