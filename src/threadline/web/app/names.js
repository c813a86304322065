// @ts-check
// Names shortened to fit a node of the graph: cut in the middle, keeping what tells them apart.
//
// Names are dotted or slashed paths ("analytics.jaffle_shop.customers", "s3://lake/clean/x.parquet",
// dbt's "db.schema.project.model.build.run"). What a name is about is kept whole: its last part
// that is not a word such names end with (build, run, test, a file extension): the table, the
// model, the file. Then its last part (a dbt step's "run" and its "test" differ only there); then
// the parts that tell it from the other names in view about the same thing (`peers`, see
// peerIndex), then those rarest in view, nearest first: what tells "clean/churn/customers.parquet"
// from "raw/churn/customers.parquet" is "clean". The parts every name shares (the database, the
// schema, the bucket) go first. What is left out becomes "…".
// Whether a text fits is the caller's question (`fits`): the pages measure it in the font the
// graph draws with.

// Words that end many names and tell little: dbt's build steps, file extensions.
const GENERIC = new Set([
  "build",
  "run",
  "test",
  "tests",
  "seed",
  "snapshot",
  "sql",
  "task",
  "csv",
  "tsv",
  "json",
  "jsonl",
  "parquet",
  "pkl",
  "pickle",
  "avro",
  "orc",
  "txt",
  "yaml",
  "yml",
  "py",
]);

/**
 * What peerIndex says of the names in view: how many names hold each part (`all`), and for each
 * thing a name is about, how many of the names about it hold each part (`about`).
 * @typedef {{all: Map<string, number>, about: Map<string, Map<string, number>>}} Peers
 */

/**
 * A name's parts, each with the separator that follows it: "s3://a/b.csv" -> ["s3://", "a/", "b.", "csv"].
 * @param {unknown} name
 * @returns {string[]}
 */
export function nameParts(name) {
  const parts = String(name)
    .split(/(?<=[./:])(?![./:])/)
    .filter(Boolean);
  // Leading separators ("/tmp/x", "./x") belong to the first word.
  while (parts.length > 1 && !/[^./:]/.test(parts[0])) parts.splice(0, 2, parts[0] + parts[1]);
  return parts;
}

/** @param {string} part */
const bare = (part) => part.replace(/[./:]+$/, "");

/**
 * The index of what the name is about: its last part that is not a generic word (see the top).
 * @param {string[]} parts
 */
function keyPart(parts) {
  for (let i = parts.length - 1; i >= 0; i -= 1) {
    const word = bare(parts[i]);
    if (word && !GENERIC.has(word.toLowerCase())) return i;
  }
  return parts.length - 1;
}

/**
 * What the names in view (`names`) hold, for shortenName's `peers`: for each part (without its
 * separator), how many names hold it (`all`), and for each thing a name is about, how many of the
 * names about it hold it (`about`).
 * @param {Iterable<string>} names
 * @returns {Peers}
 */
export function peerIndex(names) {
  /** @type {Peers["all"]} */
  const all = new Map();
  /** @type {Peers["about"]} */
  const about = new Map();
  for (const name of new Set(names)) {
    const parts = nameParts(name);
    const key = bare(parts[keyPart(parts)]);
    const local = about.get(key) || new Map();
    about.set(key, local);
    for (const word of new Set(parts.map(bare))) {
      all.set(word, (all.get(word) || 0) + 1);
      local.set(word, (local.get(word) || 0) + 1);
    }
  }
  return { all, about };
}

/** A kept part before a gap: a dot there goes ("scores…run", not "scores.…run"); "/" and ":" stay. */
/** @param {string} part */
const beforeGap = (part) => part.replace(/\.+$/, "");

/**
 * The kept parts (a Set of indices) as text, "…" where parts are left out.
 * @param {string[]} parts
 * @param {Set<number>} kept
 */
function render(parts, kept) {
  let text = "";
  let gap = false;
  parts.forEach((part, i) => {
    if (kept.has(i)) {
      text += part;
      gap = false;
    } else if (!gap) {
      text = `${text.endsWith(".") && !text.endsWith("..") ? beforeGap(text) : text}…`;
      gap = true;
    }
  });
  return text;
}

/**
 * `text` cut in the middle (characters) until it fits.
 * @param {string} text
 * @param {(text: string) => boolean} fits
 */
function cutMiddle(text, fits) {
  if (fits(text)) return text;
  for (let keep = text.length - 1; keep > 1; keep -= 1) {
    const head = Math.ceil(keep / 2);
    const candidate = `${text.slice(0, head)}…${text.slice(text.length - (keep - head))}`;
    if (fits(candidate)) return candidate;
  }
  return "…";
}

/**
 * The least of `name` that still tells it apart: what it is about and its last part, the rest "…".
 * @param {unknown} name
 */
export function essentialName(name) {
  const parts = nameParts(String(name ?? ""));
  return render(parts, new Set([keyPart(parts), parts.length - 1]));
}

/**
 * `name` as it fits (`fits(text)` says whether a text does; by default 27 characters), cut in the
 * middle: what it is about and its last part stay whole when they can, then the parts that tell it
 * from the other names in view (`peers`, from peerIndex of those names). Without peers the first
 * part comes next, so a lone name keeps its start and its end: "analytics…customers".
 * @param {unknown} name
 * @param {{fits?: (text: string) => boolean, peers?: Peers | null}} [options]
 * @returns {string}
 */
export function shortenName(name, { fits = (text) => text.length <= 27, peers = null } = {}) {
  const text = String(name ?? "");
  if (fits(text)) return text;
  const parts = nameParts(text);
  if (parts.length < 2) return cutMiddle(text, fits);
  const key = keyPart(parts);
  const last = parts.length - 1;
  const kept = new Set([key, last]);
  if (!fits(render(parts, kept))) {
    // Too long even so: cut the telling part in its middle, keeping the last part when the telling
    // part can keep a dozen characters ("…customer_ch…k_scores…run"), else the telling part alone.
    const before = key > 0 ? "…" : "";
    const separator = parts[key].slice(bare(parts[key]).length);
    const tail = key === last ? "" : `${key < last - 1 ? `${beforeGap(separator)}…` : separator}${parts[last]}`;
    const withTail = cutMiddle(bare(parts[key]), (t) => fits(`${before}${t}${tail}`));
    if (tail && withTail.length >= 12) return `${before}${withTail}${tail}`;
    const after = key < last ? "…" : "";
    return `${before}${cutMiddle(bare(parts[key]), (t) => fits(`${before}${t}${after}`))}${after}`;
  }
  const rest = parts.map((_, i) => i).filter((i) => i !== key && i !== last);
  const local = peers?.about.get(bare(parts[key]));
  /** @param {number} i */
  const alike = (i) => local?.get(bare(parts[i])) ?? 1;
  /** @param {number} i */
  const count = (i) => peers?.all.get(bare(parts[i])) ?? 1;
  rest.sort((a, b) => alike(a) - alike(b) || count(a) - count(b) || Math.abs(a - key) - Math.abs(b - key) || b - a);
  const order = [...(peers ? [] : [0]), ...rest].filter((i, n, all) => i !== key && all.indexOf(i) === n);
  // In that order, up to the first part that does not fit: names in view lose the same parts.
  for (const i of order) {
    kept.add(i);
    if (fits(render(parts, kept))) continue;
    kept.delete(i);
    break;
  }
  return render(parts, kept);
}
