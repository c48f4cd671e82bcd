// An ordinary app using `ws`, for the tests that launch one: it sends three messages to the
// URL it is given (each prefixed with its tag), waits for their echoes, closes cleanly with
// the reason `TAG done` and exits 0. Written to a file and run with node.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './cli';

const WS_PATH = pathToFileURL(join(REPO_ROOT, 'node_modules/ws/wrapper.mjs')).href;

export const WS_APP = `import WebSocket from ${JSON.stringify(WS_PATH)};
const [url, tag] = process.argv.slice(2);
const ws = new WebSocket(url);
await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
let got = 0;
const all = new Promise((resolve) => ws.on('message', () => { if (++got === 3) resolve(); }));
for (const t of ['one', 'two', 'three']) ws.send(tag + ' ' + t);
await all;
ws.close(1000, tag + ' done');
await new Promise((resolve) => ws.once('close', resolve));
`;
