import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The operator console: Preact + TypeScript, built by `npm run build` (`vite build --config
 * web/vite.config.ts`) into dist/web/, which the uWS server serves (src/http/routes/console.ts).
 * Everything is bundled (no CDN), nothing is inlined into the HTML (the page's Content-Security-Policy
 * allows no inline script or style), and every asset name carries a content hash (cached for a year).
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: 'public',
  // Preact's automatic JSX runtime, compiled by Vite's own transformer (no plugin needed for a build).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    // Small files would otherwise become data: URLs inside the CSS or JS; the CSP allows none.
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
