// permessage-deflate (RFC 7692) as the pure codec sees it: an interface, not an
// implementation. shared/ may not import node:zlib, so the caller injects a
// CompressionProvider (main/engine/zlib-compression.ts in Node); tests may inject their own.
//
// The codec works on whole messages: the assembler concatenates a compressed message's
// fragments and inflates once at FIN; the writer deflates once and then fragments.

import type { Side } from '../model';

/** The negotiated parameters (one definition, with the negotiation in extensions.ts). */
export type { DeflateParams } from './extensions';
import type { DeflateParams } from './extensions';

/** The decompressing half of one direction (the peer's compressor is on the other end). */
export interface MessageInflater {
  /**
   * Inflates one whole message's compressed payload (fragments concatenated; the
   * 00 00 ff ff tail of RFC 7692 §7.2.2 is appended by the implementation). Throws
   * InflateError on corrupt data ('inflate-failed') or when the output would exceed
   * `maxOutput` bytes ('too-big'); in the latter case it never allocates much beyond
   * `maxOutput`. With context takeover the output becomes part of the LZ77 window the
   * next message may refer to.
   */
  inflate(data: Uint8Array, maxOutput: number): Uint8Array;
  /** Forgets the LZ77 window. */
  reset(): void;
}

/** The compressing half of one direction. */
export interface MessageDeflater {
  /**
   * Compresses one whole message; returns the payload with the trailing 00 00 ff ff
   * removed (RFC 7692 §7.2.1). An empty message gives one byte (00, an empty stored block).
   */
  deflate(data: Uint8Array): Uint8Array;
  /** Forgets the LZ77 window. */
  reset(): void;
}

export interface CompressionProvider {
  /**
   * For the direction the peer compresses: `windowBits` is the peer's negotiated
   * *_max_window_bits (8..15), `noContextTakeover` its *_no_context_takeover.
   */
  inflater(windowBits: number, noContextTakeover: boolean): MessageInflater;
  /** For the direction we compress, with our negotiated window bits and takeover. */
  deflater(windowBits: number, noContextTakeover: boolean): MessageDeflater;
}

/**
 * The inflater for the messages `from` sends, per the negotiated parameters: the client's
 * messages use client_max_window_bits and client_no_context_takeover (§7.1), the
 * server's the server_ ones. An endpoint inflates what its peer sends; a proxy both ways.
 */
export function inflaterFor(provider: CompressionProvider, params: DeflateParams, from: Side): MessageInflater {
  return from === 'client'
    ? provider.inflater(params.clientMaxWindowBits, params.clientNoContextTakeover)
    : provider.inflater(params.serverMaxWindowBits, params.serverNoContextTakeover);
}

/** The deflater for the messages `from` sends (an endpoint: its own role). */
export function deflaterFor(provider: CompressionProvider, params: DeflateParams, from: Side): MessageDeflater {
  return from === 'client'
    ? provider.deflater(params.clientMaxWindowBits, params.clientNoContextTakeover)
    : provider.deflater(params.serverMaxWindowBits, params.serverNoContextTakeover);
}

export type InflateErrorCode = 'inflate-failed' | 'too-big';

/**
 * A compressed message that cannot be inflated. 'inflate-failed': corrupt DEFLATE data
 * (an endpoint closes with 1007, RFC 7692 §8); 'too-big': the output passed the limit
 * (1009, RFC 6455 §7.4.1).
 */
export class InflateError extends Error {
  override readonly name = 'InflateError';
  constructor(
    readonly code: InflateErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** The close code an endpoint fails the connection with. */
  get closeCode(): 1007 | 1009 {
    return this.code === 'too-big' ? 1009 : 1007;
  }
}

/** The four bytes every DEFLATE sync flush ends with (RFC 7692 §7.2.1, §7.2.2). */
export const DEFLATE_TAIL: Uint8Array = Uint8Array.of(0x00, 0x00, 0xff, 0xff);
