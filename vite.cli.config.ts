// Bundles the command line (main/cli) into app/dist/cli.js for Node.
import { builtinModules } from 'node:module';
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    ssr: 'main/cli/index.ts',
    outDir: 'app/dist/cli',
    emptyOutDir: true,
    target: 'node20',
    sourcemap: true,
    minify: false,
    rollupOptions: {
      external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
      output: { format: 'esm', entryFileNames: 'cli.js' },
    },
  },
  ssr: { noExternal: true },
});
