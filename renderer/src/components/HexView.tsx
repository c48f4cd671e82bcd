// A hex dump: offset, 16 bytes in two-digit hex (8 where the pane is narrow), ASCII. Long
// payloads are drawn in part with a way to draw more (16 MiB is a million rows).
import { useLayoutEffect, useMemo, useRef, useState } from 'react';
import { DEFAULT_HEX_LIMIT, formatOffset, hexRows } from '../views/hex';

/** Width (px) below which a row holds 8 bytes: 16 need about 75 monospace characters. */
const NARROW_PX = 540;

export function HexView({ bytes, testId, label }: { bytes: Uint8Array; testId: string; label: string }) {
  const [limit, setLimit] = useState(DEFAULT_HEX_LIMIT);
  const [perRow, setPerRow] = useState(16);
  const wrap = useRef<HTMLDivElement>(null);
  // A layout effect, so the first paint already has the pane's row width: measured after
  // the first paint, a narrow pane would show 16-byte rows for a frame and then re-lay out.
  useLayoutEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const fit = (w: number): void => {
      if (w > 0) setPerRow(w < NARROW_PX ? 8 : 16);
    };
    fit(el.getBoundingClientRect().width);
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(([entry]) => fit(entry?.contentRect.width ?? 0));
    ro.observe(el);
    return () => ro.disconnect();
  }, [bytes.length === 0]);
  const rows = useMemo(() => hexRows(bytes, limit, perRow), [bytes, limit, perRow]);
  if (bytes.length === 0) {
    return (
      <div className="hex-view empty muted" data-testid={testId} aria-label={label}>
        (empty)
      </div>
    );
  }
  const hexWidth = perRow * 3 - 1;
  return (
    <div className="hex-wrap" ref={wrap}>
      <pre className="hex-view mono" data-testid={testId} data-shown={Math.min(bytes.length, limit)} aria-label={label}>
        {rows.map((r) => (
          <span key={r.offset} className="hex-line">
            <span className="hex-off">{formatOffset(r.offset)}</span>
            {'  '}
            <span className="hex-bytes">{r.bytes.join(' ').padEnd(hexWidth, ' ')}</span>
            {'  '}
            <span className="hex-ascii">{r.ascii}</span>
            {'\n'}
          </span>
        ))}
      </pre>
      {bytes.length > limit && (
        <button type="button" className="btn small" onClick={() => setLimit((l) => l * 4)}>
          Show more ({(bytes.length - limit).toLocaleString('en-US')} bytes not shown)
        </button>
      )}
    </div>
  );
}
