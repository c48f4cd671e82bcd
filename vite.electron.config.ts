// Bundles the desktop shell for Electron (plain Vite, no electron-vite: two small library
// builds need no more, and nothing here needs the Electron binary):
//   --mode main     main/electron/main.ts → app/dist/main/index.js   (ES module; Electron ≥ 28
//                   runs an ESM main; app/package.json says "type": "module")
//   --mode preload  main/preload/index.ts → app/dist/preload/index.cjs (CommonJS: a sandboxed
//                   preload cannot be an ES module and may require only 'electron')
// Everything but Electron and Node's built-ins is inlined, so the packaged app needs no
// node_modules at all. The CLI's entry (main/cli/index.ts) is not part of either bundle.
import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type UserConfig } from 'vite';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };
const out = (dir: string) => fileURLToPath(new URL(`./app/dist/${dir}`, import.meta.url));
const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

// Electron 45 runs Node 22 and Chromium 140.
const main: UserConfig = {
  define: { __FRAMESCOPE_VERSION__: JSON.stringify(pkg.version) },
  build: {
    ssr: 'main/electron/main.ts',
    outDir: out('main'),
    emptyOutDir: true,
    target: 'node22',
    sourcemap: true,
    minify: false,
    rollupOptions: {
      external: ['electron', ...nodeBuiltins],
      output: { format: 'esm', entryFileNames: 'index.js' },
    },
  },
  ssr: { noExternal: true },
};

const preload: UserConfig = {
  build: {
    ssr: 'main/preload/index.ts',
    outDir: out('preload'),
    emptyOutDir: true,
    target: 'chrome140',
    sourcemap: true,
    minify: false,
    rollupOptions: {
      // Only 'electron': a sandboxed preload's require() knows nothing else worth having.
      external: ['electron'],
      output: { format: 'cjs', entryFileNames: 'index.cjs' },
    },
  },
  ssr: { noExternal: true },
};

export default defineConfig(({ mode }) => (mode === 'preload' ? preload : main));
