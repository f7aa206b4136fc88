import { defineConfig } from "vitest/config";

// Two suites: fast unit tests beside the code, and end-to-end tests against a real
// Docker engine, Traefik and the demo app (slow; run one file at a time because they
// share the engine and the host's ports).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["{cli,controller,compose,engine,traefik,state,bench}/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.e2e.test.ts"],
          environment: "node",
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          env: { TESTCONTAINERS_RYUK_DISABLED: "true" },
        },
      },
    ],
  },
});
