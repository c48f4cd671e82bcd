// Node's base64 for the text edges (capture v1, NDJSON, HAR, the UI bridge): Buffer's
// encoder on the bytes where they lie, without copying them into a Buffer first.
export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function fromBase64(text: string): Uint8Array {
  const b = Buffer.from(text, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
