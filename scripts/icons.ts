// Renders resources/icon.svg to every icon the packagers need (`npm run icons`; the results
// are committed, so neither the build nor CI runs this). Headless Chromium (Debian's
// `chromium`, driven by playwright-core) draws the SVG at each size — vector, not a
// downscaled bitmap — on a transparent background.
//   resources/icon.png          1024 px (electron-builder's fallback, the About box)
//   resources/icons/NxN.png     Linux (AppImage, deb): 16 … 1024
//   resources/icon.ico          Windows (NSIS, the .exe): 16 … 256, PNG entries
//   resources/icon.icns         macOS (dmg, the .app): 16 … 1024, PNG entries
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { writeIcns, writeIco } from './icon-containers';

const RESOURCES = fileURLToPath(new URL('../resources/', import.meta.url));
const SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024] as const;
const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256] as const;
const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';

async function render(svg: string): Promise<Map<number, Uint8Array>> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--force-color-profile=srgb'] });
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1 });
    const out = new Map<number, Uint8Array>();
    for (const size of SIZES) {
      await page.setViewportSize({ width: size, height: size });
      const sized = svg.replace(/width="1024" height="1024"/, `width="${size}" height="${size}"`);
      await page.setContent(`<!doctype html><html><body style="margin:0;background:transparent">${sized}</body></html>`);
      const png = await page.screenshot({ type: 'png', omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
      out.set(size, new Uint8Array(png));
    }
    return out;
  } finally {
    await browser.close();
  }
}

const svg = readFileSync(`${RESOURCES}icon.svg`, 'utf8');
if (!svg.includes('width="1024" height="1024"')) throw new Error('icon.svg must declare width="1024" height="1024"');
const pngs = await render(svg);
mkdirSync(`${RESOURCES}icons`, { recursive: true });
for (const [size, png] of pngs) writeFileSync(`${RESOURCES}icons/${size}x${size}.png`, png);
writeFileSync(`${RESOURCES}icon.png`, pngs.get(1024)!);
writeFileSync(`${RESOURCES}icon.ico`, writeIco(ICO_SIZES.map((size) => ({ size, png: pngs.get(size)! }))));
writeFileSync(`${RESOURCES}icon.icns`, writeIcns(pngs));
process.stdout.write(`wrote ${SIZES.length} PNGs, icon.png, icon.ico and icon.icns to resources/\n`);
