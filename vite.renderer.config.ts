// Bundles the UI (renderer/) into app/dist/renderer for Electron (loaded from app://) and
// for `framescope serve` (served over HTTP). `base: './'` keeps every asset URL relative, so
// the same build works from any origin, a file included.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * The dev server (`npm run dev:renderer`, open /?demo) injects an inline React Refresh
 * preamble and <style> tags, which the page's strict CSP forbids: drop the CSP meta tag in
 * dev only. Builds keep it.
 */
const noCspInDev: Plugin = {
  name: 'framescope-no-csp-in-dev',
  apply: 'serve',
  transformIndexHtml: (html) => html.replace(/<meta\s+http-equiv="Content-Security-Policy"[\s\S]*?\/>/, ''),
};

export default defineConfig({
  root: fileURLToPath(new URL('./renderer', import.meta.url)),
  base: './',
  plugins: [react(), noCspInDev],
  build: {
    outDir: fileURLToPath(new URL('./app/dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // The CSP forbids inline scripts and styles: never inline an asset as a data: module
    // (images as data: are allowed by img-src, but keep everything a file to be plain).
    assetsInlineLimit: 0,
    // One CSS file linked from index.html, never injected as a <style> element.
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
  },
  server: { host: '127.0.0.1' },
});
