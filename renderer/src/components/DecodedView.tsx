// A decoded message in the frame detail: protocol, type, name, id, the link to the frame it
// answers (or that answers it), and its value as a collapsible JSON tree that the keyboard
// walks like a tree (↑ ↓ move, → opens, ← closes or goes to the parent).
import { useState, type KeyboardEvent } from 'react';
import type { FramePayload } from '../../../shared/contract';
import { useAppStore } from '../store/store';
import { formatMs } from './FrameList';

export function DecodedView({ payload }: { payload: FramePayload }) {
  const d = payload.decoded!;
  const selectFrame = useAppStore((s) => s.selectFrame);
  return (
    <div data-testid="decoded-view">
      <dl className="decoded-head">
        <dt>protocol</dt>
        <dd data-testid="decoded-protocol">{d.protocol}</dd>
        {d.via !== undefined && (
          <>
            <dt>via</dt>
            <dd data-testid="decoded-via">{d.via}</dd>
          </>
        )}
        <dt>type</dt>
        <dd data-testid="decoded-type" className={d.type === 'invalid' || d.type === 'truncated' ? 'error-text' : ''}>
          {d.type}
          {d.heartbeat ? ' ♥ keep-alive' : ''}
        </dd>
        {d.name !== undefined && (
          <>
            <dt>name</dt>
            <dd data-testid="decoded-name">{d.name}</dd>
          </>
        )}
        {d.id !== undefined && (
          <>
            <dt>id</dt>
            <dd data-testid="decoded-id">{d.id}</dd>
          </>
        )}
      </dl>
      {d.type === 'invalid' || d.type === 'truncated' ? <p className="error-text">{d.summary}</p> : <p className="mono">{d.summary}</p>}
      {d.pairedWith !== undefined && (
        <p>
          <button type="button" className="link" data-testid="decoded-pair" data-seq={d.pairedWith} onClick={() => selectFrame(d.pairedWith!)}>
            answers #{d.pairedWith}
            {d.latencyMs !== undefined ? `, ${formatMs(d.latencyMs)}` : ''}
          </button>
        </p>
      )}
      {payload.answeredBy !== undefined && (
        <p>
          <button type="button" className="link" data-testid="decoded-answer" data-seq={payload.answeredBy} onClick={() => selectFrame(payload.answeredBy!)}>
            answered by #{payload.answeredBy}
          </button>
        </p>
      )}
      {d.value !== undefined && <JsonTree value={d.value} />}
    </div>
  );
}

type Path = string;

export function JsonTree({ value }: { value: unknown }) {
  // Everything open to begin with down to a depth; a person closes what they do not need.
  const [closed, setClosed] = useState<ReadonlySet<Path>>(() => new Set());
  const toggle = (p: Path, open?: boolean) =>
    setClosed((c) => {
      const n = new Set(c);
      const isOpen = !n.has(p);
      if (open === undefined ? isOpen : !open) n.add(p);
      else n.delete(p);
      return n;
    });
  const onKeyDown = (e: KeyboardEvent<HTMLUListElement>) => {
    const items = [...e.currentTarget.querySelectorAll<HTMLElement>('[role="treeitem"]')].filter((el) => el.offsetParent !== null);
    const current = document.activeElement as HTMLElement | null;
    const i = current ? items.indexOf(current) : -1;
    if (i < 0) return;
    const path = current!.dataset['path']!;
    const expandable = current!.getAttribute('aria-expanded') !== null;
    const go = (j: number) => items[Math.max(0, Math.min(items.length - 1, j))]?.focus();
    switch (e.key) {
      case 'ArrowDown':
        go(i + 1);
        break;
      case 'ArrowUp':
        go(i - 1);
        break;
      case 'Home':
        go(0);
        break;
      case 'End':
        go(items.length - 1);
        break;
      case 'ArrowRight':
        if (expandable && closed.has(path)) toggle(path, true);
        else go(i + 1);
        break;
      case 'ArrowLeft':
        if (expandable && !closed.has(path)) toggle(path, false);
        else current!.parentElement?.closest<HTMLElement>('[role="treeitem"]')?.focus();
        break;
      case 'Enter':
      case ' ':
        if (expandable) toggle(path);
        break;
      default:
        return;
    }
    e.preventDefault();
  };
  return (
    <ul className="json-tree" role="tree" aria-label="Decoded value" data-testid="decoded-tree" onKeyDown={onKeyDown}>
      <Node label={null} value={value} path="$" closed={closed} toggle={toggle} first />
    </ul>
  );
}

function Node({
  label,
  value,
  path,
  closed,
  toggle,
  first = false,
}: {
  label: string | null;
  value: unknown;
  path: Path;
  closed: ReadonlySet<Path>;
  toggle: (p: Path) => void;
  first?: boolean;
}) {
  const isObj = value !== null && typeof value === 'object';
  const entries: Array<[string, unknown]> = isObj ? (Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value as object)) : [];
  const open = isObj && !closed.has(path);
  const key = label !== null ? <span className="jt-key">{label}: </span> : null;
  return (
    <li
      role="treeitem"
      tabIndex={first ? 0 : -1}
      aria-expanded={isObj ? open : undefined}
      data-path={path}
      data-testid="tree-node"
      onClick={(e) => {
        e.stopPropagation();
        (e.currentTarget as HTMLElement).focus();
        if (isObj) toggle(path);
      }}
    >
      <div className="jt-line">
        <span className="jt-toggle">{isObj ? (open ? '▾' : '▸') : ''}</span>
        {key}
        {isObj ? (
          <span className="jt-summary">{Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`}</span>
        ) : (
          <Leaf value={value} />
        )}
      </div>
      {open && entries.length > 0 && (
        <ul role="group">
          {entries.map(([k, v]) => (
            <Node key={k} label={k} value={v} path={`${path}.${k}`} closed={closed} toggle={toggle} />
          ))}
        </ul>
      )}
    </li>
  );
}

function Leaf({ value }: { value: unknown }) {
  if (typeof value === 'string') return <span className="jt-string">{JSON.stringify(value)}</span>;
  if (typeof value === 'number') return <span className="jt-number">{String(value)}</span>;
  if (typeof value === 'boolean') return <span className="jt-boolean">{String(value)}</span>;
  return <span className="jt-null">null</span>;
}
