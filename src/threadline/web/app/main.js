// The UI's entry point: the header's search box and key button, the routes, then the first page.

import { setupKeyButton } from "./auth.js";
import { catalogEntryPage, catalogLookupPage, catalogSearchPage, catalogTemplatesPage } from "./pages/catalog.js";
import { datasetPage } from "./pages/dataset.js";
import { homePage } from "./pages/home.js";
import { jobPage } from "./pages/job.js";
import { lineagePage } from "./pages/lineage.js";
import { eventsPage, notFoundPage, runsPage, searchPage } from "./pages/lists.js";
import { pipelineRunPage, pipelinesPage } from "./pages/pipeline.js";
import { runPage } from "./pages/run.js";
import { route, start } from "./router.js";
import { setupSearch } from "./search.js";

route("/", homePage);
route("/lineage", lineagePage);
route("/datasets/:namespace/:name", datasetPage);
route("/jobs/:namespace/:name", jobPage);
route("/runs", runsPage);
route("/runs/:id", runPage);
route("/events", eventsPage);
route("/pipelines", pipelinesPage);
route("/pipeline-runs/:id", pipelineRunPage);
route("/search", searchPage);
route("/catalog", catalogSearchPage);
route("/catalog/templates", catalogTemplatesPage);
route("/catalog/lookup", catalogLookupPage);
route("/catalog/entryGroups/:group/entries/:entry", catalogEntryPage);
route("/__not_found__", notFoundPage);

// Mark the current section in the navigation.
document.addEventListener("threadline:rendered", (event) => {
  const path = event.detail.path;
  for (const a of document.querySelectorAll("nav.main-nav a")) {
    const href = a.getAttribute("href");
    const current = href === "/" ? path === "/" : path.startsWith(href);
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
});

setupSearch();
setupKeyButton();
start(document.getElementById("view"));
