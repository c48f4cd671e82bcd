// The selected connection in one line: where, its state, what it carried, and a way out.
import { useRef } from 'react';
import { disconnect, loadProto, replayConnection, setDecoder } from '../store/actions';
import { DECODABLE, type DecodeChoice } from '../../../shared/decoders/types';
import { useAppStore } from '../store/store';
import { formatAge, formatBytes, formatCount } from '../views/format';
import { closeCodeName } from '../../../shared/codec/protocol';
import { useNow } from './hooks';

/** The decoder select's entry that loads a .proto (the file input is hidden). */
const LOAD_PROTO = 'load-proto';

export function ConnectionHeader() {
  const c = useAppStore((s) => (s.selectedConnection ? s.connections.get(s.selectedConnection) : undefined));
  const rows = useAppStore((s) => (s.selectedConnection ? (s.rowCounts.get(s.selectedConnection) ?? 0) : 0));
  const now = useNow(1000, c?.endedAt === null);
  const protoFile = useRef<HTMLInputElement>(null);
  if (!c) return null;
  const proto = c.decoding?.proto;
  const protoType = proto ? (proto.client === proto.server ? (proto.client ?? '') : `client=${proto.client ?? ''},server=${proto.server ?? ''}`) : '';
  const live = c.state === 'open' || c.state === 'connecting' || c.state === 'closing';
  const count = Math.max(rows, c.frames.client + c.frames.server);
  return (
    <div className="conn-header">
      <span className={`state-dot ${c.state}`} aria-hidden="true" />
      <span className="conn-header-url mono" title={c.url}>
        {c.url}
      </span>
      <span className="pill">{c.mode}</span>
      <span className="pill">{c.state}</span>
      {c.close && (
        <span className="muted close-info" title={`closed by ${c.close.by}${c.close.clean ? ', cleanly' : ', not cleanly'}`}>
          {c.close.code ?? 'no code'} {c.close.code ? closeCodeName(c.close.code) : ''} by {c.close.by}
          {c.close.reason ? ` “${c.close.reason}”` : ''}
        </span>
      )}
      <select
        className="input decoder-select"
        aria-label="Decoder for this connection"
        title={`Decode this connection as… (${c.decoding?.protocol ? `decoding ${c.decoding.protocol}` : 'nothing decoded'})`}
        data-testid="decoder-select"
        value={c.decoding?.choice ?? 'auto'}
        onChange={(e) => {
          // Not a choice of its own: it asks for the file, and the select stays as it was.
          if (e.target.value === LOAD_PROTO) protoFile.current?.click();
          else setDecoder(c.id, e.target.value as DecodeChoice);
        }}
      >
        <option value="auto">decode: auto{c.decoding?.choice === 'auto' || !c.decoding ? (c.decoding?.protocol ? ` (${c.decoding.protocol})` : '') : ''}</option>
        <option value="none">decode: none</option>
        {DECODABLE.map((p) => (
          <option key={p} value={p}>
            decode: {p}
          </option>
        ))}
        <option value={LOAD_PROTO} data-testid="proto-load">
          protobuf + .proto…
        </option>
      </select>
      {proto && c.decoding?.choice === 'protobuf' && (
        <select
          className="input proto-type-select"
          aria-label="Protobuf message type"
          title={`Message type from ${proto.file}`}
          data-testid="proto-type-select"
          value={protoType}
          onChange={(e) => void loadProto(c.id, null, e.target.value)}
        >
          {!proto.types.includes(protoType) && <option value={protoType}>{protoType || 'field numbers'}</option>}
          {proto.types.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      )}
      <input
        ref={protoFile}
        type="file"
        hidden
        data-testid="proto-file"
        aria-label="A .proto file and the files it imports"
        multiple
        accept=".proto,text/plain"
        onChange={(e) => {
          const files = [...(e.target.files ?? [])];
          e.target.value = '';
          if (files.length > 0) void loadProto(c.id, files);
        }}
      />
      {c.state !== 'connecting' && c.frames.client > 0 && (
        <button
          type="button"
          className="btn small"
          data-testid="replay-button"
          title={`Replay the client's messages to ${c.url} as a new connection, and compare the server's answers`}
          onClick={() => void replayConnection(c.id)}
        >
          Replay
        </button>
      )}
      <span className="grow" />
      <span className="stat" title="frames recorded on this connection">
        <span data-testid="frame-count">{count}</span> frames
      </span>
      <span className="stat muted" title="client → server">
        ↑ {formatCount(c.frames.client)} / {formatBytes(c.bytes.client)}
      </span>
      <span className="stat muted" title="server → client">
        ↓ {formatCount(c.frames.server)} / {formatBytes(c.bytes.server)}
      </span>
      <span className="stat muted">{formatAge((c.endedAt ?? Math.max(now, c.startedAt)) - c.startedAt)}</span>
      {live && (
        <button type="button" className="btn small" data-testid="disconnect-button" onClick={() => void disconnect(c.id, 1000)}>
          {c.mode === 'proxy' ? 'Drop' : 'Close'}
        </button>
      )}
    </div>
  );
}
