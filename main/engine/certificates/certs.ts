// Certificates for TLS interception: a local CA, leaves it signs per host, and plain self-signed
// certificates (test peers). Built with @peculiar/x509 on Node's WebCrypto, so key generation is
// native and fast (ECDSA P-256 by default, about a millisecond) and no ASN.1 is written by hand.
//
// The leaf profile follows what Chromium and Node's tls both accept: subjectAltName carrying every
// host (DNS names as dNSName, IP literals as iPAddress: clients ignore the CN), extKeyUsage
// serverAuth, keyUsage for the key type, validity under 398 days, and a random positive serial.

// @peculiar/x509 (through tsyringe) needs the Reflect metadata API and refuses to load without
// it; this import must stay above the library's so the polyfill is in place first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate as NodeX509Certificate, createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

export interface PemPair {
  /** The certificate, PEM ("-----BEGIN CERTIFICATE-----"). */
  certPem: string;
  /** The private key, PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"). Keep it 0600 on disk. */
  keyPem: string;
}

/** 'ec': ECDSA P-256 with SHA-256 (default). 'rsa': RSA 2048 with SHA-256, for old clients. */
export type KeyType = 'ec' | 'rsa';

export interface CreateCaOptions {
  commonName?: string;
  validDays?: number;
  keyType?: KeyType;
}

export interface CreateLeafOptions {
  ca: PemPair;
  /** DNS names and IP literals (IPv6 with or without brackets). The first one is also the CN. */
  hosts: string[];
  /** At most 397: Chromium (and Apple) reject server certificates valid for 398 days or more. */
  validDays?: number;
  keyType?: KeyType;
}

export interface CreateSelfSignedOptions {
  hosts: string[];
  validDays?: number;
  keyType?: KeyType;
}

export type CertErrorCode = 'cert-no-hosts' | 'cert-bad-host' | 'cert-bad-validity' | 'cert-bad-ca';

/** A certificate could not be made from what the caller gave; `code` is stable. */
export class CertError extends Error {
  readonly code: CertErrorCode;
  constructor(code: CertErrorCode, message: string) {
    super(message);
    this.name = 'CertError';
    this.code = code;
  }
}

/** The longest leaf validity Chromium accepts is 398 days; stay a day under it. */
export const MAX_LEAF_DAYS = 397;
const DAY_MS = 86_400_000;
/** notBefore is set this far in the past so a peer whose clock lags a little still accepts. */
const BACKDATE_MS = 3_600_000;

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const EC_SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const RSA_ALG = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

function generateKeys(keyType: KeyType): Promise<CryptoKeyPair> {
  // extractable: the private key has to leave WebCrypto as PEM for node:tls.
  const alg = keyType === 'rsa' ? RSA_ALG : EC_ALG;
  return webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

function signingAlgorithm(keyType: KeyType): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return keyType === 'rsa' ? { name: RSA_ALG.name } : EC_SIGN;
}

/** 16 random bytes, top bit clear: a positive INTEGER with 127 bits of entropy (CA/B asks for 64+). */
function randomSerialHex(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

function validity(validDays: number, maxDays: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(validDays) || validDays <= 0 || validDays > maxDays) {
    throw new CertError('cert-bad-validity', `validDays must be between 1 and ${maxDays}, got ${validDays}`);
  }
  const now = Date.now();
  // Whole seconds (X.509 times carry no fractions). Both ends move back by the backdate, so the
  // span is exactly validDays: what Chromium's 398-day limit measures.
  const notBefore = new Date(Math.floor((now - BACKDATE_MS) / 1000) * 1000);
  const notAfter = new Date(Math.floor((now + validDays * DAY_MS - BACKDATE_MS) / 1000) * 1000);
  return { notBefore, notAfter };
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

interface HostName {
  type: 'dns' | 'ip';
  value: string;
}

/** Classifies each host: IP literals become iPAddress SAN entries, everything else dNSName. */
function hostNames(hosts: string[]): HostName[] {
  if (hosts.length === 0) throw new CertError('cert-no-hosts', 'a certificate needs at least one host name');
  const out: HostName[] = [];
  for (const raw of hosts) {
    const host = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
    const family = isIP(host);
    if (family === 4) {
      out.push({ type: 'ip', value: host });
    } else if (family === 6) {
      // The WHATWG URL parser canonicalises IPv6 (embedded IPv4 becomes hex groups, which the
      // library's address parser needs) and rejects zone ids, which a SAN cannot carry anyway.
      let canonical: string;
      try {
        canonical = new URL(`http://[${host}]/`).hostname.slice(1, -1);
      } catch {
        throw new CertError('cert-bad-host', `not an IPv6 address a certificate can name: ${raw}`);
      }
      out.push({ type: 'ip', value: canonical });
    } else if (/^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/i.test(host) && host.length <= 253) {
      out.push({ type: 'dns', value: host.toLowerCase().replace(/\.$/, '') });
    } else {
      throw new CertError('cert-bad-host', `not a DNS name or IP address: ${JSON.stringify(raw)}`);
    }
  }
  return out;
}

/** A subject CN: X.520 caps it at 64 characters, and clients only look at the SAN anyway. */
function commonNameFor(host: HostName): string {
  return host.value.length <= 64 ? host.value : host.value.slice(0, 64);
}

function subjectName(commonName: string, organization?: string): x509.JsonName {
  const name: x509.JsonName = [{ CN: [commonName] }];
  if (organization) name.push({ O: [organization] });
  return name;
}

function leafExtensions(names: HostName[], keyType: KeyType): x509.Extension[] {
  // ECDSA keys sign (digitalSignature); RSA keys may also decrypt a TLS 1.2 RSA key exchange.
  const usages =
    keyType === 'rsa'
      ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
      : x509.KeyUsageFlags.digitalSignature;
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usages, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
    new x509.SubjectAlternativeNameExtension(names, false),
  ];
}

/** Creates the interception CA: a self-signed root allowed to sign leaves only (pathLen 0). */
export async function createCa(options: CreateCaOptions = {}): Promise<PemPair> {
  const { commonName = 'Framescope Interception CA', validDays = 3650, keyType = 'ec' } = options;
  const { notBefore, notAfter } = validity(validDays, 36_500);
  const keys = await generateKeys(keyType);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialHex(),
      name: subjectName(commonName, 'Framescope'),
      notBefore,
      notAfter,
      signingAlgorithm: signingAlgorithm(keyType),
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

/** WebCrypto names for the curves node:crypto reports, with the hash each is paired with. */
const CURVES: Record<string, { namedCurve: string; hash: string }> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
};

interface LoadedCa {
  cert: x509.X509Certificate;
  key: CryptoKey;
  signing: webcrypto.Algorithm | webcrypto.EcdsaParams;
}

/** Loads a CA pair for signing; accepts PKCS#8, SEC1 ("EC PRIVATE KEY") and PKCS#1 key PEMs. */
async function loadCa(ca: PemPair): Promise<LoadedCa> {
  let cert: x509.X509Certificate;
  let keyObject: KeyObject;
  try {
    cert = new x509.X509Certificate(ca.certPem);
    // node:crypto reads every common key PEM flavour; WebCrypto is then handed PKCS#8 DER.
    keyObject = createPrivateKey(ca.keyPem);
  } catch (err) {
    throw new CertError('cert-bad-ca', `cannot read the CA certificate or key: ${(err as Error).message}`);
  }
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  if (!basic?.ca) throw new CertError('cert-bad-ca', 'the CA certificate is not a CA (basicConstraints cA is not set)');
  if (!new NodeX509Certificate(ca.certPem).checkPrivateKey(keyObject)) {
    throw new CertError('cert-bad-ca', 'the CA key does not belong to the CA certificate');
  }
  let importAlg: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;
  let signing: webcrypto.Algorithm | webcrypto.EcdsaParams;
  const type = keyObject.asymmetricKeyType;
  const curve = type === 'ec' ? CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
  if (type === 'rsa') {
    importAlg = { name: RSA_ALG.name, hash: 'SHA-256' };
    signing = { name: RSA_ALG.name };
  } else if (curve) {
    importAlg = { name: 'ECDSA', namedCurve: curve.namedCurve };
    signing = { name: 'ECDSA', hash: curve.hash };
  } else {
    throw new CertError('cert-bad-ca', `unsupported CA key type: ${type ?? 'unknown'}`);
  }
  const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'der' });
  const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, importAlg, false, ['sign']);
  return { cert, key, signing };
}

/** Creates a server certificate for `hosts`, signed by `ca`. */
export async function createLeaf(options: CreateLeafOptions): Promise<PemPair> {
  const { ca, hosts, validDays = MAX_LEAF_DAYS, keyType = 'ec' } = options;
  const names = hostNames(hosts);
  const span = validity(validDays, MAX_LEAF_DAYS);
  const issuer = await loadCa(ca);
  // A leaf outliving its CA would only fail later and more confusingly; end it with the CA.
  const notAfter = span.notAfter > issuer.cert.notAfter ? issuer.cert.notAfter : span.notAfter;
  const keys = await generateKeys(keyType);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialHex(),
      subject: subjectName(commonNameFor(names[0]!)),
      // The CA's own encoded Name, so the leaf's issuer matches the CA's subject byte for byte.
      issuer: issuer.cert.subjectName,
      notBefore: span.notBefore,
      notAfter,
      signingAlgorithm: issuer.signing,
      publicKey: keys.publicKey,
      signingKey: issuer.key,
      extensions: [
        ...leafExtensions(names, keyType),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
        await x509.AuthorityKeyIdentifierExtension.create(issuer.cert.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

/** Creates a self-signed server certificate for `hosts` (no CA): for test peers. */
export async function createSelfSigned(options: CreateSelfSignedOptions): Promise<PemPair> {
  const { hosts, validDays = MAX_LEAF_DAYS, keyType = 'ec' } = options;
  const names = hostNames(hosts);
  const { notBefore, notAfter } = validity(validDays, MAX_LEAF_DAYS);
  const keys = await generateKeys(keyType);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialHex(),
      name: subjectName(commonNameFor(names[0]!)),
      notBefore,
      notAfter,
      signingAlgorithm: signingAlgorithm(keyType),
      keys,
      extensions: [
        ...leafExtensions(names, keyType),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}
