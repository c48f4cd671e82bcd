// The held-message editor's logic (draft, decision, the frames it becomes), the composer's
// injection requests, and held/released/intercept events in the store.
import { beforeEach, describe, expect, it } from 'vitest';
import type { HeldMessage } from '../../shared/contract';
import { toBase64, utf8Encode } from '../../shared/bytes';
import { applyEvents, applySnapshot } from '../../renderer/src/store/apply-events';
import { resetStore, useAppStore } from '../../renderer/src/store/store';
import { composeHeld, draftOf, prettyJson, reformat } from '../../renderer/src/views/held';
import { injectRequestOf } from '../../renderer/src/views/composer';

const held = (id: number, patch: Partial<HeldMessage> = {}): HeldMessage => ({
  id,
  connection: 'p1',
  from: 'client',
  opcode: 1,
  size: 5,
  data: toBase64(utf8Encode('hello')),
  heldAt: 0,
  ...patch,
});

describe('held message editor', () => {
  it('an untouched draft forwards as it came; any change is a replace with its frame plan', () => {
    const h = held(1);
    const d = draftOf(h);
    expect(d).toMatchObject({ format: 'text', body: 'hello', opcode: 1 });
    expect(composeHeld(h, d)).toMatchObject({ ok: true, changed: false, decision: { action: 'forward' } });
    const edited = composeHeld(h, { ...d, body: 'hello!', fragmentSize: 4, rsv3: true });
    expect(edited).toMatchObject({
      ok: true,
      changed: true,
      frameCount: 2,
      decision: { action: 'replace', opcode: 1, data: toBase64(utf8Encode('hello!')), fragmentSize: 4, rsv3: true },
    });
    if (!edited.ok) return;
    // Toward the server: masked (the key chosen when sent); RSV3 on the first frame only; FIN on the last.
    expect(edited.frames.map((f) => [f.fin, f.opcode, f.length, f.header[0], f.header[1]! & 0x80])).toEqual([
      [false, 1, 4, 0x11, 0x80],
      [true, 0, 2, 0x80, 0x80],
    ]);
    // The same bytes as another opcode are a change too.
    expect(composeHeld(h, { ...d, opcode: 2 })).toMatchObject({ changed: true, decision: { action: 'replace', opcode: 2 } });
  });

  it('a server message opens unmasked; binary opens as hex; bad hex and bad JSON say so', () => {
    const h = held(2, { from: 'server', opcode: 2, size: 3, data: toBase64(new Uint8Array([0, 0xff, 0x10])) });
    const d = draftOf(h);
    expect(d).toMatchObject({ format: 'hex', body: '00 ff 10' });
    const c = composeHeld(h, { ...d, body: '00 ff 11' });
    expect(c.ok && c.frames[0]!.header[1]! & 0x80).toBe(0);
    expect(composeHeld(h, { ...d, body: '0g' })).toMatchObject({ ok: false });
    expect(composeHeld(held(3), { ...draftOf(held(3)), format: 'json', body: '{"a":' })).toMatchObject({ ok: false, error: expect.stringMatching(/^not valid JSON/) });
    expect(reformat(d, 'text')).toEqual({ error: 'these bytes are not UTF-8 text' });
    expect(reformat({ ...draftOf(held(4)), body: 'hi' }, 'hex')).toEqual({ body: '68 69' });
    expect(prettyJson('{"a":[1,2]}')).toEqual({ body: '{\n  "a": [\n    1,\n    2\n  ]\n}' });
  });

  it('a message too large to come to the UI can only go on as it came', () => {
    const h = held(5, { size: 5_000_000, data: undefined });
    expect(composeHeld(h, draftOf(h))).toMatchObject({ ok: true, changed: false, decision: { action: 'forward' }, payloadBytes: 5_000_000 });
  });
});

describe('composer injection requests', () => {
  it('text, binary and raw go toward the chosen side, close toward both; pings and fragments cannot be injected', () => {
    expect(injectRequestOf({ connection: 'p1', kind: 'text', text: 'x' }, 'client')).toEqual({ connection: 'p1', to: 'client', kind: 'text', text: 'x' });
    expect(injectRequestOf({ connection: 'p1', kind: 'binary', data: 'AA==' }, 'server')).toEqual({ connection: 'p1', to: 'server', kind: 'binary', data: 'AA==' });
    expect(injectRequestOf({ connection: 'p1', kind: 'close', code: 4000, reason: 'r' }, 'client')).toEqual({ connection: 'p1', kind: 'close', code: 4000, reason: 'r' });
    expect(injectRequestOf({ connection: 'p1', kind: 'ping', data: '' }, 'server')).toBeNull();
    expect(injectRequestOf({ connection: 'p1', kind: 'text', text: 'x', fragmentSize: 1 }, 'server')).toBeNull();
  });
});

describe('held messages in the store', () => {
  beforeEach(() => resetStore());

  it('the first held message opens the Held tab and is selected; a released one gives way to the oldest left', () => {
    applyEvents([{ type: 'held', message: held(1) }, { type: 'held', message: held(2) }]);
    let s = useAppStore.getState();
    expect([...s.held.keys()]).toEqual([1, 2]);
    expect(s.selectedHeld).toBe(1);
    expect(s.inspectorTab).toBe('held');
    useAppStore.getState().setInspectorTab('frame');
    applyEvents([{ type: 'held', message: held(3) }]);
    expect(useAppStore.getState().inspectorTab).toBe('frame'); // only the first one takes the tab
    applyEvents([{ type: 'released', id: 1 }]);
    s = useAppStore.getState();
    expect([...s.held.keys()]).toEqual([2, 3]);
    expect(s.selectedHeld).toBe(2);
    applyEvents([{ type: 'intercept', state: { rules: [{ connection: null, from: 'server', condition: 'binary' }], canInjectFrames: false } }]);
    expect(useAppStore.getState().intercept.rules).toHaveLength(1);
  });

  it('a snapshot brings the breakpoints and the held queue as the engine has them', () => {
    applyEvents([{ type: 'held', message: held(1) }]);
    applySnapshot({ connections: [], proxy: null, version: 't', intercept: { rules: [], canInjectFrames: true }, held: [held(7)] });
    const s = useAppStore.getState();
    expect([...s.held.keys()]).toEqual([7]);
    expect(s.selectedHeld).toBe(7);
    expect(s.intercept.canInjectFrames).toBe(true);
  });
});
