// ESLint for the web UI's own JavaScript (src/threadline/web/app: plain ES modules for the browser, no
// build step) and its tests (tests/web/js: Node's test runner). `make lint` runs it; the vendored
// libraries under src/threadline/web/vendor are not ours.

import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["src/threadline/web/vendor/", "node_modules/", ".venv/", ".demo/", "test-output/"] },
  js.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: "module" },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      eqeqeq: ["error", "smart"],
      "no-var": "error",
      "prefer-const": "error",
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      "no-shadow": "error",
      "object-shorthand": "error",
      "prefer-template": "error",
      "no-implicit-coercion": ["error", { allow: ["!!"] }],
    },
  },
  {
    files: ["src/threadline/web/app/**/*.js"],
    languageOptions: {
      // The vendored libraries load as scripts and set these globals (dom.js's library()).
      globals: { ...globals.browser, cytoscape: "readonly", ELK: "readonly", uPlot: "readonly" },
    },
  },
  {
    files: ["tests/web/js/**/*.js", "eslint.config.js"],
    languageOptions: { globals: globals.node },
  },
];
