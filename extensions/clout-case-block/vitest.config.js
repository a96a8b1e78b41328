// The block rendered by Shopify's extension tester in a mock DOM (tests/Block.test.jsx); the
// logic's own tests run under `node --test` (tests/case.test.js).
import { defineConfig } from "vitest/config";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  test: {
    environment: "jsdom",
    include: ["tests/**/*.test.jsx"],
    // The tester imports the extension's module itself: through Vite, so the JSX is compiled.
    server: { deps: { inline: ["@shopify/ui-extensions-tester"] } },
  },
});
