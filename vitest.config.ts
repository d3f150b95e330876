import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Unit tests of the UI's pure modules; they need no DOM and no Tauri.
export default defineConfig({
  root: fileURLToPath(new URL("./ui", import.meta.url)),
  // Caches go to the repository's node_modules (ignored by git), not into ui/.
  cacheDir: fileURLToPath(new URL("./node_modules/.vite", import.meta.url)),
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
