// The interception CA: its certificate to save, and how to make each OS and browser trust
// it. The private key never leaves the engine.
import { useRef, useState } from 'react';
import { toBase64, utf8Encode } from '../../../shared/bytes';
import { loadCa, saveBlob } from '../store/actions';
import { useModal } from './use-modal';
import { useAppStore } from '../store/store';

type Os = 'linux' | 'macos' | 'windows' | 'firefox' | 'node';

const INSTRUCTIONS: Record<Os, { label: string; steps: string[]; commands: string[] }> = {
  linux: {
    label: 'Linux',
    steps: [
      'Chromium and Chrome read the NSS database in your home directory (libnss3-tools has certutil).',
      'System-wide (curl, most tools): copy it into the CA store and rebuild it (Debian/Ubuntu shown).',
    ],
    commands: [
      'certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n framescope -i framescope-ca.pem',
      'sudo cp framescope-ca.pem /usr/local/share/ca-certificates/framescope-ca.crt && sudo update-ca-certificates',
    ],
  },
  macos: {
    label: 'macOS',
    steps: ['Add it to the System keychain as trusted for SSL (asks for your password). Safari and Chrome use it.'],
    commands: ['sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain framescope-ca.pem'],
  },
  windows: {
    label: 'Windows',
    steps: ['Add it to your user’s Trusted Root store (Edge and Chrome use it); run in a Command Prompt.'],
    commands: ['certutil -user -addstore Root framescope-ca.pem'],
  },
  firefox: {
    label: 'Firefox',
    steps: [
      'Firefox keeps its own store: Settings → Privacy & Security → Certificates → View Certificates → Authorities → Import…',
      'Choose framescope-ca.pem and tick “Trust this CA to identify websites”.',
    ],
    commands: [],
  },
  node: {
    label: 'Node.js',
    steps: ['Node does not read the OS store: point it at the file.'],
    commands: ['NODE_EXTRA_CA_CERTS=/path/to/framescope-ca.pem node app.js'],
  },
};

export function CaDialog() {
  const open = useAppStore((s) => s.dialog === 'ca');
  const setDialog = useAppStore((s) => s.setDialog);
  const ca = useAppStore((s) => s.ca);
  const [os, setOs] = useState<Os>(() => guessOs());
  const ref = useRef<HTMLDialogElement>(null);
  useModal(ref, open, () => void loadCa());
  const how = INSTRUCTIONS[os];
  return (
    <dialog ref={ref} className="dialog ca-dialog" aria-label="Interception CA certificate" onClose={() => setDialog(null)}>
      <div className="dialog-head">
        <h2>Interception CA certificate</h2>
        <button type="button" className="btn ghost small" aria-label="Close" onClick={() => setDialog(null)}>
          ✕
        </button>
      </div>
      <p className="muted">
        The forward proxy decrypts wss:// with certificates signed by this local CA. Framescope created it once on this machine; its
        private key stays there. Trust it only where you want traffic inspected.
      </p>
      {!ca ? (
        <p className="muted">Loading…</p>
      ) : (
        <>
          <dl className="kv">
            <dt>File</dt>
            <dd className="mono wrap">{ca.path}</dd>
            <dt>SHA-256</dt>
            <dd className="mono wrap">{ca.fingerprint256}</dd>
          </dl>
          <div className="row-fields">
            <button
              type="button"
              className="btn primary"
              data-testid="ca-save"
              onClick={() => void saveBlob({ filename: 'framescope-ca.pem', mime: 'application/x-pem-file', data: toBase64(utf8Encode(ca.pem)) })}
            >
              Save certificate…
            </button>
            <button type="button" className="btn ghost" onClick={() => void navigator.clipboard?.writeText(ca.pem)}>
              Copy PEM
            </button>
          </div>
          <details>
            <summary>PEM</summary>
            <pre className="mono pem">{ca.pem}</pre>
          </details>
        </>
      )}
      <div className="tabs small" role="tablist">
        {(Object.keys(INSTRUCTIONS) as Os[]).map((k) => (
          <button key={k} type="button" role="tab" aria-selected={os === k} className={os === k ? 'on' : ''} onClick={() => setOs(k)}>
            {INSTRUCTIONS[k].label}
          </button>
        ))}
      </div>
      <div className="install-steps">
        {how.steps.map((s, i) => (
          <p key={i}>{s}</p>
        ))}
        {how.commands.map((c, i) => (
          <pre key={i} className="mono command">
            {c}
          </pre>
        ))}
      </div>
    </dialog>
  );
}

function guessOs(): Os {
  const p = typeof navigator === 'undefined' ? '' : navigator.userAgent;
  if (/Mac/i.test(p)) return 'macos';
  if (/Win/i.test(p)) return 'windows';
  return 'linux';
}
