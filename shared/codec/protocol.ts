// Names and numbers of RFC 6455: opcodes (§5.2, §11.8), close codes (§7.4, §11.7) and the
// catalogue of violations the codec reports. Pure data, no I/O.

/** Frame opcodes, RFC 6455 §5.2. 3-7 and 11-15 are reserved. */
export enum Opcode {
  /** §5.4: continues a fragmented message */
  Continuation = 0x0,
  /** §5.6: UTF-8 text */
  Text = 0x1,
  /** §5.6: arbitrary bytes */
  Binary = 0x2,
  /** §5.5.1 */
  Close = 0x8,
  /** §5.5.2 */
  Ping = 0x9,
  /** §5.5.3 */
  Pong = 0xa,
}

export function opcodeName(opcode: number): string {
  switch (opcode) {
    case Opcode.Continuation:
      return 'continuation';
    case Opcode.Text:
      return 'text';
    case Opcode.Binary:
      return 'binary';
    case Opcode.Close:
      return 'close';
    case Opcode.Ping:
      return 'ping';
    case Opcode.Pong:
      return 'pong';
    default:
      return opcode < 8 ? `reserved-data-${opcode}` : `reserved-control-${opcode}`;
  }
}

/** §5.5: opcodes with the high bit set are control frames. */
export function isControl(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

export function isKnownOpcode(opcode: number): boolean {
  return opcode <= 2 || (opcode >= 8 && opcode <= 10);
}

/** Close status codes, RFC 6455 §7.4.1 and the IANA registry (§11.7). */
export enum CloseCode {
  Normal = 1000,
  GoingAway = 1001,
  ProtocolError = 1002,
  UnsupportedData = 1003,
  /** never on the wire: "no status code was present" */
  NoStatus = 1005,
  /** never on the wire: "closed abnormally, without a close frame" */
  Abnormal = 1006,
  InvalidPayload = 1007,
  PolicyViolation = 1008,
  MessageTooBig = 1009,
  MandatoryExtension = 1010,
  InternalError = 1011,
  ServiceRestart = 1012,
  TryAgainLater = 1013,
  BadGateway = 1014,
  /** never on the wire: "TLS handshake failed" */
  TlsHandshake = 1015,
}

const CLOSE_NAMES: Record<number, string> = {
  1000: 'Normal Closure',
  1001: 'Going Away',
  1002: 'Protocol Error',
  1003: 'Unsupported Data',
  1005: 'No Status Received',
  1006: 'Abnormal Closure',
  1007: 'Invalid Payload Data',
  1008: 'Policy Violation',
  1009: 'Message Too Big',
  1010: 'Mandatory Extension',
  1011: 'Internal Error',
  1012: 'Service Restart',
  1013: 'Try Again Later',
  1014: 'Bad Gateway',
  1015: 'TLS Handshake',
};

export function closeCodeName(code: number): string {
  const known = CLOSE_NAMES[code];
  if (known) return known;
  if (code >= 3000 && code <= 3999) return 'Registered (3000-3999)';
  if (code >= 4000 && code <= 4999) return 'Private use (4000-4999)';
  return 'Unassigned';
}

/**
 * May this code appear in a close frame on the wire? §7.4.1/§7.4.2: 1005, 1006 and 1015
 * are for APIs only; 0-999 are unused; 1016-2999 are reserved for future RFCs; 1004 is
 * reserved. 3000-4999 are for libraries, frameworks and applications.
 */
export function isValidWireCloseCode(code: number): boolean {
  if (code >= 1000 && code <= 1014) return code !== 1004 && code !== 1005 && code !== 1006;
  return code >= 3000 && code <= 4999;
}

/** The catalogue of violations. Ids are public (capture files carry them): never rename. */
export const VIOLATIONS = {
  'unmasked-client-frame': { rfc: '6455 §5.1', severity: 'error', closeCode: 1002 },
  'masked-server-frame': { rfc: '6455 §5.1', severity: 'error', closeCode: 1002 },
  'rsv-without-extension': { rfc: '6455 §5.2', severity: 'error', closeCode: 1002 },
  'reserved-opcode': { rfc: '6455 §5.2', severity: 'error', closeCode: 1002 },
  'fragmented-control-frame': { rfc: '6455 §5.5', severity: 'error', closeCode: 1002 },
  'control-frame-too-long': { rfc: '6455 §5.5', severity: 'error', closeCode: 1002 },
  'unexpected-continuation': { rfc: '6455 §5.4', severity: 'error', closeCode: 1002 },
  'data-frame-inside-fragmented-message': { rfc: '6455 §5.4', severity: 'error', closeCode: 1002 },
  'non-minimal-length': { rfc: '6455 §5.2', severity: 'warning', closeCode: 1002 },
  'length-top-bit-set': { rfc: '6455 §5.2', severity: 'error', closeCode: 1002 },
  'payload-too-big': { rfc: '6455 §10.4', severity: 'error', closeCode: 1009 },
  'invalid-utf8': { rfc: '6455 §8.1', severity: 'error', closeCode: 1007 },
  'invalid-close-reason-utf8': { rfc: '6455 §5.5.1', severity: 'error', closeCode: 1007 },
  'close-payload-too-short': { rfc: '6455 §5.5.1', severity: 'error', closeCode: 1002 },
  'invalid-close-code': { rfc: '6455 §7.4', severity: 'error', closeCode: 1002 },
  'data-after-close': { rfc: '6455 §5.5.1', severity: 'error', closeCode: 1002 },
  // After both close frames have crossed the connection is closed (§7.1.2): what follows
  // cannot change its outcome, so it is noted, not failed.
  'frame-after-closing-handshake': { rfc: '6455 §7.1.2', severity: 'warning', closeCode: 1002 },
  'rsv1-on-control-frame': { rfc: '7692 §6', severity: 'error', closeCode: 1002 },
  'rsv1-on-continuation': { rfc: '7692 §6', severity: 'error', closeCode: 1002 },
  'inflate-failed': { rfc: '7692 §6.2', severity: 'error', closeCode: 1007 },
  'truncated-frame': { rfc: '6455 §5.2', severity: 'error', closeCode: 1006 },
} as const satisfies Record<string, { rfc: string; severity: 'error' | 'warning'; closeCode: number }>;

export type ViolationId = keyof typeof VIOLATIONS;
