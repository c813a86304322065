// Names shortened to fit a node of the graph: cut in the middle, keeping what tells them apart.
//
// Names are dotted or slashed paths ("analytics.jaffle_shop.customers", "s3://lake/clean/x.parquet",
// dbt's "db.schema.project.model.build.run"). The part that tells a name from the others in view is
// kept whole: the rarest part among the names in view (`counts`, see partCounts), else the last part
// that is not a word every such name ends with (build, run, test, a file extension). Then the last
// part (a dbt "run" and its "test" differ only there), then the parts that are rarest in view and
// nearest that part; the parts every name shares (the database, the schema, the bucket) go first.
// What is left out becomes "…". Whether a text fits is the caller's question (`fits`): the pages
// measure it in the font the graph draws with.

// Words that end many names and tell little: dbt's build steps, file extensions.
const GENERIC = new Set([
  "build", "run", "test", "tests", "seed", "snapshot", "sql", "task",
  "csv", "tsv", "json", "jsonl", "parquet", "pkl", "pickle", "avro", "orc", "txt", "yaml", "yml", "py",
]);

/** A name's parts, each with the separator that follows it: "s3://a/b.csv" -> ["s3://", "a/", "b.", "csv"]. */
export function nameParts(name) {
  const parts = String(name).split(/(?<=[./:])(?![./:])/).filter(Boolean);
  // Leading separators ("/tmp/x", "./x") belong to the first word.
  while (parts.length > 1 && !/[^./:]/.test(parts[0])) parts.splice(0, 2, parts[0] + parts[1]);
  return parts;
}

const bare = (part) => part.replace(/[./:]+$/, "");

/** How many of `names` hold each part (without its separator), for shortenName's `counts`. */
export function partCounts(names) {
  const counts = new Map();
  for (const name of new Set(names)) {
    for (const part of new Set(nameParts(name).map(bare))) counts.set(part, (counts.get(part) || 0) + 1);
  }
  return counts;
}

/** The index of the part that tells the name apart (see the top of this file). */
function keyPart(parts, counts) {
  let best = -1;
  let bestScore = null;
  parts.forEach((part, i) => {
    const word = bare(part);
    if (!word) return;
    // Rarest first; then a word that is not generic; then the later one.
    const score = [counts?.get(word) ?? 1, GENERIC.has(word.toLowerCase()) ? 1 : 0, -i];
    if (bestScore === null || score[0] < bestScore[0] || (score[0] === bestScore[0]
      && (score[1] < bestScore[1] || (score[1] === bestScore[1] && score[2] < bestScore[2])))) {
      best = i;
      bestScore = score;
    }
  });
  return best < 0 ? parts.length - 1 : best;
}

/** A kept part before a gap: a dot there goes ("scores…run", not "scores.…run"); "/" and ":" stay. */
const beforeGap = (part) => part.replace(/\.+$/, "");

/** The kept parts (a Set of indices) as text, "…" where parts are left out. */
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

/** `text` cut in the middle (characters) until it fits. */
function cutMiddle(text, fits) {
  if (fits(text)) return text;
  for (let keep = text.length - 1; keep > 1; keep -= 1) {
    const head = Math.ceil(keep / 2);
    const candidate = `${text.slice(0, head)}…${text.slice(text.length - (keep - head))}`;
    if (fits(candidate)) return candidate;
  }
  return "…";
}

/** The least of `name` that still tells it apart: its telling part and its last part, the rest "…". */
export function essentialName(name, counts = null) {
  const parts = nameParts(String(name ?? ""));
  return render(parts, new Set([keyPart(parts, counts), parts.length - 1]));
}

/**
 * `name` as it fits (`fits(text)` says whether a text does; by default 27 characters), cut in the
 * middle: the part that tells it apart from the other names in view (`counts`, from partCounts of
 * those names) and the last part stay whole when they can. Without counts the first part counts as
 * telling too, so a lone name keeps its start and its end: "analytics…customers".
 */
export function shortenName(name, { fits = (text) => text.length <= 27, counts = null } = {}) {
  const text = String(name ?? "");
  if (fits(text)) return text;
  const parts = nameParts(text);
  if (parts.length < 2) return cutMiddle(text, fits);
  const key = keyPart(parts, counts);
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
  const count = (i) => counts?.get(bare(parts[i])) ?? 1;
  rest.sort((a, b) => count(a) - count(b) || Math.abs(a - key) - Math.abs(b - key) || b - a);
  const order = [...(counts ? [] : [0]), ...rest].filter((i, n, all) => i !== key && all.indexOf(i) === n);
  // In that order, up to the first part that does not fit: names in view lose the same parts.
  for (const i of order) {
    kept.add(i);
    if (fits(render(parts, kept))) continue;
    kept.delete(i);
    break;
  }
  return render(parts, kept);
}
