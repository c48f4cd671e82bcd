// The composer's form. It lives in the store so "edit in composer" from a frame's detail
// can fill it; file contents are not here (they may be large) but in the component.
/** 'decoded': a message in the connection's protocol's terms (FormEditor), encoded by the engine */
export type ComposerMode = 'text' | 'json' | 'binary' | 'ping' | 'pong' | 'close' | 'raw' | 'decoded';

export interface RawDraft {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  /** 'key': use maskKey; 'none': MASK=0 */
  mask: 'key' | 'none';
  /** 8 hex digits */
  maskKey: string;
  payloadFormat: 'text' | 'hex';
  payload: string;
}

export interface ComposerState {
  mode: ComposerMode;
  /** text / JSON */
  text: string;
  /**
   * the payload of ping and pong: a field of its own, so that switching from a long text or
   * JSON message to Ping does not make that message a (too large) ping payload
   */
  controlText: string;
  /** binary as hex */
  hex: string;
  /** the ping/pong payload is hex rather than text */
  controlHex: boolean;
  /** 0: do not fragment */
  fragmentSize: number;
  closeCode: number;
  closeReason: string;
  raw: RawDraft;
}

export const DEFAULT_COMPOSER: ComposerState = {
  mode: 'text',
  text: '',
  controlText: '',
  hex: '',
  controlHex: false,
  fragmentSize: 0,
  closeCode: 1000,
  closeReason: '',
  raw: { fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, mask: 'key', maskKey: '37fa213d', payloadFormat: 'text', payload: '' },
};
