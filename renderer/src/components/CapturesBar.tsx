// Export a capture (capture v1 JSON, NDJSON, HAR, pcapng) and open one (capture, HAR, journal, pcap/pcapng):
// native dialogs on the desktop, download and upload in a browser.
import { useRef, useState } from 'react';
import type { ExportFormat } from '../../../shared/contract';
import { exportCapture, hasShell, openCapture } from '../store/actions';
import { useAppStore } from '../store/store';

const FORMATS: Array<{ value: ExportFormat; label: string }> = [
  { value: 'json', label: 'Capture (.wscap.json)' },
  { value: 'ndjson', label: 'NDJSON events' },
  { value: 'har', label: 'HAR (browsers)' },
  { value: 'pcapng', label: 'pcapng (Wireshark)' },
];

export function CapturesBar() {
  const [format, setFormat] = useState<ExportFormat>('json');
  const [scope, setScope] = useState<'selected' | 'all'>('all');
  const [busy, setBusy] = useState(false);
  const selected = useAppStore((s) => s.selectedConnection);
  const count = useAppStore((s) => s.connections.size);
  const online = useAppStore((s) => s.transport.state === 'open');
  const fileInput = useRef<HTMLInputElement>(null);
  const doExport = async () => {
    setBusy(true);
    try {
      await exportCapture(format, scope === 'selected' && selected ? [selected] : undefined);
    } finally {
      setBusy(false);
    }
  };
  const doOpen = () => {
    // The desktop shell has a native dialog; a browser uploads through a file input.
    if (hasShell()) void openCapture();
    else fileInput.current?.click();
  };
  return (
    <div className="captures" role="group" aria-label="Captures">
      <button type="button" className="btn ghost" data-testid="import-button" disabled={!online} onClick={doOpen}>
        Open…
      </button>
      <input
        ref={fileInput}
        type="file"
        hidden
        data-testid="import-file"
        accept=".json,.har,.ndjson,.journal,.pcap,.pcapng,.cap,application/json,application/vnd.tcpdump.pcap"
        onChange={(e) => {
          const f = e.target.files?.[0];
          e.target.value = '';
          if (f) void openCapture(f);
        }}
      />
      <span className="sep" />
      <select className="input" aria-label="Export format" data-testid="export-format" value={format} onChange={(e) => setFormat(e.target.value as ExportFormat)}>
        {FORMATS.map((f) => (
          <option key={f.value} value={f.value}>
            {f.label}
          </option>
        ))}
      </select>
      <select className="input" aria-label="Export which connections" value={scope} onChange={(e) => setScope(e.target.value as 'selected' | 'all')}>
        <option value="all">all connections</option>
        <option value="selected" disabled={!selected}>
          selected connection
        </option>
      </select>
      <button type="button" className="btn" data-testid="export-button" disabled={!online || busy || count === 0} onClick={() => void doExport()}>
        {busy ? 'Exporting…' : 'Export'}
      </button>
    </div>
  );
}
