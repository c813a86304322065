#!/usr/bin/env bash
# Refresh the web UI's third-party files in src/threadline/web/vendor/ from the npm registry.
#
#   scripts/vendor-web.sh            # the versions pinned below
#   CYTOSCAPE=3.35.0 scripts/vendor-web.sh
#
# It runs `npm pack` for each package in a temporary folder (no node_modules, no package.json in the
# project), copies the built files and the licence into vendor/<package>/, and rewrites the version
# table of vendor/README.md. Review the diff, run `.venv/bin/python -m pytest -q tests/web`, commit.
set -euo pipefail

CYTOSCAPE="${CYTOSCAPE:-3.34.4}"
ELKJS="${ELKJS:-0.12.1}"
UPLOT="${UPLOT:-1.6.32}"

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENDOR="src/threadline/web/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

fetch() {  # fetch NAME VERSION -> extracts into $WORK/NAME/package
    local name="$1" version="$2"
    mkdir -p "$WORK/$name"
    (cd "$WORK/$name" && npm pack --silent "$name@$version" >/dev/null && tar xzf ./*.tgz)
}

fetch cytoscape "$CYTOSCAPE"
fetch elkjs "$ELKJS"
fetch uplot "$UPLOT"

rm -rf "$VENDOR/cytoscape" "$VENDOR/elkjs" "$VENDOR/uplot"
mkdir -p "$VENDOR/cytoscape" "$VENDOR/elkjs" "$VENDOR/uplot"
cp "$WORK/cytoscape/package/dist/cytoscape.min.js" "$WORK/cytoscape/package/LICENSE" "$VENDOR/cytoscape/"
# The bundled build lays out on the page's own thread (see app/layout.js for why not in a worker).
cp "$WORK/elkjs/package/lib/elk.bundled.js" "$WORK/elkjs/package/LICENSE.md" "$VENDOR/elkjs/"
cp "$WORK/uplot/package/dist/uPlot.iife.min.js" "$WORK/uplot/package/dist/uPlot.min.css" \
   "$WORK/uplot/package/LICENSE" "$VENDOR/uplot/"

# The version table between the markers of vendor/README.md.
python3 - "$VENDOR/README.md" "$CYTOSCAPE" "$ELKJS" "$UPLOT" <<'PY'
import sys
from pathlib import Path

path, cytoscape, elkjs, uplot = sys.argv[1:]
readme = Path(path)
text = readme.read_text()
start, end = "<!-- versions -->", "<!-- /versions -->"
table = "\n".join([
    start,
    "| package | version | files | licence |",
    "|---|---|---|---|",
    f"| [cytoscape](https://www.npmjs.com/package/cytoscape) | {cytoscape} | `cytoscape/cytoscape.min.js` | MIT |",
    f"| [elkjs](https://www.npmjs.com/package/elkjs) | {elkjs} | `elkjs/elk.bundled.js` | EPL-2.0 |",
    f"| [uplot](https://www.npmjs.com/package/uplot) | {uplot} | `uplot/uPlot.iife.min.js`, `uplot/uPlot.min.css` | MIT |",
    end,
])
before, rest = text.split(start, 1)
_, after = rest.split(end, 1)
readme.write_text(before + table + after)
PY
echo "vendored cytoscape $CYTOSCAPE, elkjs $ELKJS, uplot $UPLOT into $VENDOR"
