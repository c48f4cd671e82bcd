// Per-host server certificates for TLS interception, signed by the interception CA and kept as
// ready tls.SecureContexts. A browser opens many connections to one host at once: all of them
// wait on the same promise, so each host costs one key generation, not one per connection.
import { createSecureContext, type SecureContext } from 'node:tls';
import { isIP } from 'node:net';
import { createLeaf, type KeyType, type PemPair } from './certs';

export interface LeafCacheOptions {
  /** Hosts kept (least recently used dropped first). Default 500. */
  max?: number;
  /** Leaf key type. Default 'ec' (P-256), which every current client accepts. */
  keyType?: KeyType;
}

export class LeafCache {
  readonly max: number;
  private readonly ca: PemPair;
  private readonly keyType: KeyType;
  /** Map iteration order is insertion order: re-inserting on use makes the first key the LRU one. */
  private readonly entries = new Map<string, Promise<SecureContext>>();
  private made = 0;

  constructor(ca: PemPair, options: LeafCacheOptions = {}) {
    const { max = 500, keyType = 'ec' } = options;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`LeafCache max must be a whole number ≥ 1, got ${max}`);
    this.ca = ca;
    this.max = max;
    this.keyType = keyType;
  }

  /**
   * The context for `host` (a DNS name or an IP literal, IPv6 with or without brackets): a leaf
   * whose SAN names exactly that host. It carries the leaf only: the CA is the client's trust
   * anchor, which a server does not send. ALPN is the caller's, set on the TLSSocket.
   * Rejects (CertError 'cert-bad-host') for a name a certificate cannot carry; failures are
   * not cached.
   */
  secureContextFor(host: string): Promise<SecureContext> {
    const key = cacheKey(host);
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const pending = this.make(key);
    this.entries.set(key, pending);
    pending.catch(() => {
      if (this.entries.get(key) === pending) this.entries.delete(key);
    });
    // An evicted entry that is still being made finishes for those already waiting on it.
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return pending;
  }

  /** Whether `host` is cached now (made or being made). Does not count as a use. */
  has(host: string): boolean {
    return this.entries.has(cacheKey(host));
  }

  /** Hosts cached now. */
  get size(): number {
    return this.entries.size;
  }

  /** Leaves generated so far (cache misses), for tests and stats. */
  get leavesMade(): number {
    return this.made;
  }

  private async make(host: string): Promise<SecureContext> {
    this.made++;
    const leaf = await createLeaf({ ca: this.ca, hosts: [host], keyType: this.keyType });
    // The CA goes with the leaf: a client that trusts it by its key alone (Chromium's
    // --ignore-certificate-errors-spki-list, what `framescope launch` uses) must see it in the chain.
    return createSecureContext({ key: leaf.keyPem, cert: leaf.certPem.trimEnd() + '\n' + this.ca.certPem });
  }
}

/** One entry per host however it is spelled: case, brackets, a trailing dot, IPv6 forms. */
function cacheKey(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (isIP(h) === 6) {
    try {
      h = new URL(`http://[${h}]/`).hostname.slice(1, -1);
    } catch {
      // A zone id (fe80::1%eth0) does not canonicalise; createLeaf will refuse it.
    }
  } else if (h.endsWith('.')) {
    h = h.slice(0, -1);
  }
  return h;
}
