#!/usr/bin/env node
// Guards the scripts that run Electron or package the app: Electron 45's launcher and
// electron-builder's packages require Node 22.12 or later, while the command line,
// `framescope serve`, the build and the tests run on Node 20. Without this guard a user on
// Node 20 meets a failure deep inside Electron's binary download instead of one line.
//   node scripts/need-node.mjs 22.12 "npm start"
const [need = '', what = 'this command'] = process.argv.slice(2);
const have = process.versions.node;
const parse = (v) => v.split('.').map((n) => Number.parseInt(n, 10) || 0);
const [a, b] = [parse(have), parse(need)];
let older = false;
for (let i = 0; i < Math.max(a.length, b.length); i++) {
  const x = a[i] ?? 0;
  const y = b[i] ?? 0;
  if (x !== y) {
    older = x < y;
    break;
  }
}
if (older) {
  process.stderr.write(
    `framescope: ${what} needs Node ${need} or later (Electron's launcher and packager require it); this is Node ${have}.\n` +
      'The command line, `framescope serve`, `npm run build` and `npm test` run on Node 20.\n',
  );
  process.exit(1);
}
