import { fileURLToPath } from "node:url";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vite";

// The desktop shell (Tauri) loads the dev server on a fixed port and the built files from dist/.
export default defineConfig({
  root: fileURLToPath(new URL("./ui", import.meta.url)),
  // Caches go to the repository's node_modules (ignored by git), not into ui/.
  cacheDir: fileURLToPath(new URL("./node_modules/.vite", import.meta.url)),
  // The Svelte config sits beside this file, not in the Vite root.
  plugins: [svelte({ configFile: fileURLToPath(new URL("./svelte.config.js", import.meta.url)) })],
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
    watch: {
      ignored: ["**/src-tauri/**", "**/crates/**", "**/target/**"],
    },
  },
  build: {
    outDir: "../dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
  },
});
