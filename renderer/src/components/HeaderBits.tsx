// The frame header drawn as RFC 6455 §5.2 draws it: 32 bits a row, each field a box over
// its bits, with the bits as on the wire and what they say.
import { Fragment, useMemo } from 'react';
import { toHex } from '../../../shared/bytes';
import { layoutHeaderRows, parseHeaderFields, ROW_BITS, type HeaderCell } from '../views/frame-header';

/** The first free column after a row's cells. */
const fill = (cells: readonly HeaderCell[]): number => cells.reduce((end, c) => Math.max(end, c.column + c.width), 0);

export function HeaderBits({ headerHex }: { headerHex: string }) {
  const parsed = useMemo(() => {
    try {
      return parseHeaderFields(headerHex);
    } catch {
      return null;
    }
  }, [headerHex]);
  if (!parsed) return <p className="error-text">The header bytes “{headerHex}” are not hex.</p>;
  const rows = layoutHeaderRows(parsed.fields);
  return (
    <div className="header-bits" data-testid="header-bits">
      <div className="bits-ruler mono" aria-hidden="true">
        {Array.from({ length: ROW_BITS }, (_, i) => (
          <span key={i} className={i % 8 === 0 ? 'byte-start' : ''}>
            {i % 10}
          </span>
        ))}
      </div>
      {rows.map((cells, r) => (
        <div key={r} className="bits-row" role="group" aria-label={`bits ${r * ROW_BITS}–${r * ROW_BITS + ROW_BITS - 1}`}>
          {cells.map((cell) => (
            <div
              key={`${cell.field.id}-${cell.column}`}
              className={`bits-cell f-${cell.field.id} ${cell.field.bitLength === 1 ? 'one-bit' : ''} ${cell.field.bits.includes('1') && cell.field.bitLength === 1 ? 'on' : ''}`}
              style={{ gridColumn: `${cell.column + 1} / span ${cell.width}` }}
              title={`${cell.field.label}: ${cell.field.meaning}`}
              data-field={cell.field.id}
            >
              <span className="bits-label">
                {cell.field.label}
                {cell.continued ? ' (cont.)' : ''}
              </span>
              <span className="bits-value mono">
                {cell.bits.split('').map((b, i) => (
                  <Fragment key={i}>
                    <span className={b === '1' ? 'one' : 'zero'}>{b}</span>
                  </Fragment>
                ))}
              </span>
              {!cell.continued && cell.width >= 4 && <span className="bits-meaning">{cell.field.meaning}</span>}
            </div>
          ))}
          {r === rows.length - 1 && fill(cells) < ROW_BITS && (
            <div className="bits-cell payload" style={{ gridColumn: `${fill(cells) + 1} / span ${ROW_BITS - fill(cells)}` }}>
              <span className="bits-label">Payload Data …</span>
            </div>
          )}
        </div>
      ))}
      <div className="bits-legend">
        {parsed.fields
          .filter((f) => f.bitLength === 1)
          .map((f) => (
            <span key={f.id}>
              <b>{f.label}</b> {f.meaning}
            </span>
          ))}
      </div>
      <div className="wire-bytes mono" data-testid="header-bytes" title="the header bytes as on the wire">
        {Array.from(parsed.bytes, (b, i) => (
          <span key={i} className="wire-byte">
            <span className="wire-off">{i}</span>
            {toHex(Uint8Array.of(b))}
          </span>
        ))}
        {parsed.incomplete && <span className="error-text"> header cut short</span>}
      </div>
    </div>
  );
}
