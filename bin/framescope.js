#!/usr/bin/env node
// The `framescope` command: runs the bundled CLI (built by `npm install` through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../app/dist/cli/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('framescope: not built yet; run `npm install` (or `npm run build`) in the checkout first\n');
  process.exit(2);
}
await import(cli);
