// Bundles the command line (main/cli) into app/dist/cli.js for Node.
import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import { defineConfig } from 'vite';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  define: { __FRAMESCOPE_VERSION__: JSON.stringify(pkg.version) },
  build: {
    ssr: 'main/cli/index.ts',
    outDir: 'app/dist/cli',
    emptyOutDir: false,
    target: 'node20',
    sourcemap: true,
    minify: false,
    rollupOptions: {
      external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
      // Each command's code is a chunk of its own, imported when that command runs.
      output: { format: 'esm', entryFileNames: 'cli.js', chunkFileNames: 'chunks/[name].js' },
    },
  },
  ssr: { noExternal: true },
});
