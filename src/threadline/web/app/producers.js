// Who produced a job or dataset (dbt, Airflow, Spark, the threadline SDK, …) and what kind of node it
// is, from what the events carry: the job's `jobType` facet (`integration`) and the `_producer` URL
// of every facet, which OpenLineage integrations set to their own repository.

export const PRODUCERS = [
  {
    key: "dbt",
    label: "dbt",
    short: "dbt",
    color: "#ff694b",
    test: (url, integration) => integration === "DBT" || /integration\/dbt|dbt-ol|\/dbt-labs\//i.test(url),
  },
  {
    key: "airflow",
    label: "Airflow",
    short: "AF",
    color: "#017cee",
    test: (url, integration) => integration === "AIRFLOW" || /apache\/airflow|integration\/airflow/i.test(url),
  },
  {
    key: "spark",
    label: "Spark",
    short: "Sp",
    color: "#e25a1c",
    test: (url, integration) => integration === "SPARK" || /integration\/spark|databricks/i.test(url),
  },
  {
    key: "flink",
    label: "Flink",
    short: "Fl",
    color: "#e6526f",
    test: (url, integration) => integration === "FLINK" || /integration\/flink/i.test(url),
  },
  {
    key: "dagster",
    label: "Dagster",
    short: "Dg",
    color: "#4f43dd",
    test: (url, integration) => integration === "DAGSTER" || /dagster/i.test(url),
  },
  {
    key: "great_expectations",
    label: "Great Expectations",
    short: "GX",
    color: "#ff6310",
    test: (url, integration) => integration === "GREAT_EXPECTATIONS" || /great.expectations/i.test(url),
  },
  // threadline's SDK before threadline in general: both say integration THREADLINE.
  {
    key: "sdk",
    label: "threadline SDK",
    short: "SDK",
    color: "#7c3aed",
    test: (url) => /threadline[^ ]*\/tracking/i.test(url),
  },
  {
    key: "threadline",
    label: "threadline",
    short: "TL",
    color: "#0d9488",
    test: (url, integration) => integration === "THREADLINE" || /threadline/i.test(url),
  },
];

const UNKNOWN = { key: "other", label: "other producer", short: "?", color: "#64748b" };

function firstProducerUrl(facets) {
  if (!facets || typeof facets !== "object") return "";
  if (facets.jobType && typeof facets.jobType._producer === "string") return facets.jobType._producer;
  for (const value of Object.values(facets)) {
    if (value && typeof value === "object" && typeof value._producer === "string") return value._producer;
  }
  return "";
}

/** The producer of something with these facets ({key, label, short, color}). */
export function producerOf(facets, producerUrl = "") {
  const url = producerUrl || firstProducerUrl(facets);
  const integration = String(facets?.jobType?.integration || "").toUpperCase();
  if (!url && !integration) return UNKNOWN;
  for (const producer of PRODUCERS) {
    if (producer.test(url, integration)) return producer;
  }
  let host = "";
  try {
    host = new URL(url).host;
  } catch {
    host = url;
  }
  return { ...UNKNOWN, label: host || UNKNOWN.label };
}

/** The producer from a run summary's jobType facet (runs and events pages). */
export function producerOfJobType(jobType, producerUrl = "") {
  return producerOf(jobType ? { jobType } : {}, producerUrl);
}

/** "dataset", "model" or "job" for a dataset or job as Marquez's API gives it. */
export function kindOf(type, data) {
  if (type === "JOB" || type === "job") return "job";
  const facets = data?.facets || {};
  const declared = String(facets.datasetType?.datasetType || "").toUpperCase();
  if (declared === "MODEL" || facets.threadline_artifact?.kind === "model") return "model";
  return "dataset";
}

/** What a job is, in the producer's words (dbt MODEL, Airflow TASK, DAG, …), if it says. */
export function jobTypeLabel(facets) {
  const jobType = facets?.jobType;
  if (!jobType) return "";
  return [jobType.jobType, jobType.processingType === "STREAMING" ? "streaming" : ""]
    .filter(Boolean)
    .join(" ")
    .toLowerCase();
}
