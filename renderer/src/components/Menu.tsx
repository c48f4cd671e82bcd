// A small popup menu at a point (a right click) or under a button: closes on Escape, on a
// click elsewhere, and after an item runs. Items are buttons, reachable with Tab and the
// arrow keys.
import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { createPortal } from 'react-dom';

export function PopupMenu({
  x,
  y,
  onClose,
  testId,
  label,
  children,
}: {
  x: number;
  y: number;
  onClose: () => void;
  testId: string;
  label: string;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [pos, setPos] = useState({ left: x, top: y });
  // Kept inside the window: a menu opened near the right or bottom edge opens the other way.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const r = el.getBoundingClientRect();
    setPos({ left: Math.max(4, Math.min(x, window.innerWidth - r.width - 4)), top: Math.max(4, Math.min(y, window.innerHeight - r.height - 4)) });
    el.querySelector<HTMLElement>('button:not([disabled]), input')?.focus();
  }, [x, y]);
  useEffect(() => {
    const down = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose();
    };
    // Capture: a click elsewhere closes the menu before whatever it hits acts.
    window.addEventListener('mousedown', down, true);
    window.addEventListener('blur', onClose);
    return () => {
      window.removeEventListener('mousedown', down, true);
      window.removeEventListener('blur', onClose);
    };
  }, [onClose]);
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onClose();
      return;
    }
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    const items = [...(ref.current?.querySelectorAll<HTMLElement>('button:not([disabled]), input') ?? [])];
    const i = items.indexOf(document.activeElement as HTMLElement);
    items[(i + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length]?.focus();
  };
  // On the body: a pane's stacking context (the list's, under the inspector) would clip it.
  return createPortal(
    <div ref={ref} className="popup-menu" role="menu" aria-label={label} data-testid={testId} style={pos} onKeyDown={onKeyDown} onContextMenu={(e) => e.preventDefault()}>
      {children}
    </div>,
    document.body,
  );
}

export function MenuItem({ testId, onClick, disabled, children, title }: { testId: string; onClick: () => void; disabled?: boolean; children: ReactNode; title?: string }) {
  return (
    <button type="button" role="menuitem" className="menu-item" data-testid={testId} disabled={disabled} title={title} onClick={onClick}>
      {children}
    </button>
  );
}

export const MenuSeparator = () => <div className="menu-sep" role="separator" />;
