// Window bounds remembered between launches (main/electron/window-state.ts): the saved file
// is untrusted, and the position must land on a display that exists today.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_STATE, MIN_SIZE, fitToDisplays, loadWindowState, parseWindowState, saveWindowState, stateOf, type Rect } from '../../main/electron/window-state';

const FULL_HD: Rect = { x: 0, y: 0, width: 1920, height: 1040 };
const RIGHT: Rect = { x: 1920, y: 0, width: 2560, height: 1400 };

describe('window state: parsing the saved file', () => {
  it('reads a good state', () => {
    expect(parseWindowState('{"x":10,"y":20,"width":1000,"height":700,"maximized":true}')).toEqual({ x: 10, y: 20, width: 1000, height: 700, maximized: true });
    expect(parseWindowState('{"width":1000,"height":700}')).toEqual({ width: 1000, height: 700, maximized: false });
  });

  it('refuses garbage', () => {
    for (const text of ['', 'not json', '{', 'null', '[]', '42', '"x"', '{"width":"800","height":600}', '{"width":800}', '{"width":1e9,"height":600}',
      '{"width":-5,"height":600}', '{"width":800.5,"height":600}', '{"width":NaN,"height":600}', `{"width":800,"height":600,"pad":"${'x'.repeat(5000)}"}`]) {
      expect(parseWindowState(text), text.slice(0, 40)).toBeNull();
    }
    expect(parseWindowState(null)).toBeNull();
  });

  it('drops a half or absurd position but keeps the size', () => {
    expect(parseWindowState('{"x":10,"width":800,"height":600}')).toEqual({ width: 800, height: 600, maximized: false });
    expect(parseWindowState('{"x":10,"y":1e12,"width":800,"height":600}')).toEqual({ width: 800, height: 600, maximized: false });
    expect(parseWindowState('{"x":"10","y":20,"width":800,"height":600,"maximized":"yes"}')).toEqual({ width: 800, height: 600, maximized: false });
  });
});

describe('window state: fitting to the displays', () => {
  it('keeps a window that is on screen', () => {
    expect(fitToDisplays({ x: 100, y: 80, width: 1200, height: 800, maximized: false }, [FULL_HD])).toEqual({ x: 100, y: 80, width: 1200, height: 800, maximized: false });
    expect(fitToDisplays({ x: 2000, y: 100, width: 1200, height: 800, maximized: true }, [FULL_HD, RIGHT])).toMatchObject({ x: 2000, y: 100 });
  });

  it('drops the position of a window on a monitor that is gone', () => {
    const s = fitToDisplays({ x: 2000, y: 100, width: 1200, height: 800, maximized: false }, [FULL_HD]);
    expect(s).toEqual({ width: 1200, height: 800, maximized: false });
  });

  it('drops positions far off-screen or with the title bar out of reach', () => {
    for (const [x, y] of [[-5000, 0], [0, -5000], [100, -10], [1900, 100], [-1180, 100], [100, 1030], [99999, 99999]] as const) {
      const s = fitToDisplays({ x, y, width: 1200, height: 800, maximized: false }, [FULL_HD]);
      expect(s.x, `${x},${y}`).toBeUndefined();
      expect(s.y).toBeUndefined();
    }
  });

  it('keeps a window mostly off to one side while its title bar can still be grabbed', () => {
    expect(fitToDisplays({ x: -1000, y: 100, width: 1200, height: 800, maximized: false }, [FULL_HD])).toMatchObject({ x: -1000, y: 100 });
  });

  it('clamps the size to the largest display and to the minimum', () => {
    expect(fitToDisplays({ width: 5000, height: 4000, maximized: false }, [FULL_HD])).toEqual({ width: 1920, height: 1040, maximized: false });
    expect(fitToDisplays({ width: 10, height: 10, maximized: false }, [FULL_HD])).toEqual({ ...MIN_SIZE, maximized: false });
  });

  it('falls back to the default size when nothing was saved', () => {
    expect(fitToDisplays(null, [FULL_HD])).toEqual(DEFAULT_STATE);
    expect(fitToDisplays(null, [])).toEqual(DEFAULT_STATE);
  });
});

describe('window state: the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'framescope-winstate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips, and reads a missing or corrupt file as nothing', () => {
    const file = join(dir, 'window-state.json');
    expect(loadWindowState(file)).toBeNull();
    const win = { getNormalBounds: () => ({ x: 10.4, y: 20, width: 1000, height: 700.6 }), isMaximized: () => true };
    saveWindowState(file, stateOf(win));
    expect(loadWindowState(file)).toEqual({ x: 10, y: 20, width: 1000, height: 701, maximized: true });
    expect(readFileSync(file, 'utf8').endsWith('\n')).toBe(true);
    writeFileSync(file, '{"x":1,');
    expect(loadWindowState(file)).toBeNull();
  });
});
