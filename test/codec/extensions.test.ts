import { describe, expect, it } from 'vitest';
import {
  ExtensionError,
  acceptDeflateOffer,
  deflateOffer,
  formatExtensions,
  negotiateDeflateResponse,
  parseExtensions,
  type DeflateParams,
} from '../../shared/codec/extensions';
import type { ExtensionRecord } from '../../shared/model';

const pmd = (params: Record<string, string | true> = {}): ExtensionRecord => ({ name: 'permessage-deflate', params });
const one = (text: string): ExtensionRecord => {
  const list = parseExtensions([text]);
  expect(list).toHaveLength(1);
  return list[0]!;
};
const params = (p: Partial<DeflateParams> = {}): DeflateParams => ({
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  ...p,
});

function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ExtensionError);
    return (e as ExtensionError).code;
  }
  throw new Error('expected an ExtensionError');
}

describe('RFC 6455 §9.1 Sec-WebSocket-Extensions grammar', () => {
  it('parses a bare extension', () => {
    expect(parseExtensions(['permessage-deflate'])).toEqual([pmd()]);
  });

  it('parses parameters with and without values, in order', () => {
    const ext = one('permessage-deflate; client_max_window_bits; server_max_window_bits=10');
    expect(ext).toEqual(pmd({ client_max_window_bits: true, server_max_window_bits: '10' }));
    expect(Object.keys(ext.params)).toEqual(['client_max_window_bits', 'server_max_window_bits']);
  });

  it('unquotes quoted-string values (with quoted-pairs)', () => {
    expect(one('foo; a="10"; b="x\\yz"').params).toEqual({ a: '10', b: 'xyz' });
  });

  it('accepts optional whitespace around ; , and =', () => {
    expect(parseExtensions(['  foo ;a = 1 ;\tb ,bar  '])).toEqual([
      { name: 'foo', params: { a: '1', b: true } },
      { name: 'bar', params: {} },
    ]);
  });

  it('parses several extensions on one line and across lines, in order', () => {
    expect(parseExtensions(['a; x=1, b', 'c', 'd; y'])).toEqual([
      { name: 'a', params: { x: '1' } },
      { name: 'b', params: {} },
      { name: 'c', params: {} },
      { name: 'd', params: { y: true } },
    ]);
  });

  it('offers the same extension twice as fallbacks (RFC 7692 §5.2)', () => {
    expect(parseExtensions(['permessage-deflate; server_max_window_bits=10, permessage-deflate'])).toEqual([
      pmd({ server_max_window_bits: '10' }),
      pmd(),
    ]);
  });

  it('skips empty list elements and empty values', () => {
    expect(parseExtensions(['a, , b,', ''])).toEqual([
      { name: 'a', params: {} },
      { name: 'b', params: {} },
    ]);
    expect(parseExtensions([])).toEqual([]);
  });

  it('keeps the case of names as sent', () => {
    expect(one('PerMessage-Deflate; Client_Max_Window_Bits').name).toBe('PerMessage-Deflate');
  });

  it.each([
    ['a; =1', 'parameter without a name'],
    ['a; x=', 'parameter with = but no value'],
    ['a b', 'space inside an extension'],
    ['a; x="unterminated', 'unterminated quote'],
    ['a; x=""', 'empty quoted value (not a token)'],
    ['a; x="1 2"', 'quoted value that is not a token'],
    ['a; x=1 2', 'junk after a value'],
    ['(a)', 'name that is not a token'],
    ['a;; x', 'empty parameter'],
    ['a; x=y=z', 'two equals'],
  ])('refuses %j (%s)', (text) => {
    expect(errorCode(() => parseExtensions([text]))).toBe('malformed-extensions');
  });

  it('names where the value breaks the grammar', () => {
    expect(() => parseExtensions(['a; x=1 2'])).toThrow(/character 8/);
  });

  it('refuses a parameter given twice', () => {
    expect(errorCode(() => parseExtensions(['permessage-deflate; server_no_context_takeover; server_no_context_takeover']))).toBe(
      'duplicate-param',
    );
  });

  it('formats records as one value and round-trips', () => {
    const list = [pmd({ server_no_context_takeover: true, client_max_window_bits: '10' }), { name: 'x-foo', params: {} }];
    const text = formatExtensions(list);
    expect(text).toBe('permessage-deflate; server_no_context_takeover; client_max_window_bits=10, x-foo');
    expect(parseExtensions([text])).toEqual(list);
  });

  it('quotes values that are not tokens and refuses names that are not tokens', () => {
    expect(formatExtensions([{ name: 'a', params: { x: 'b c' } }])).toBe('a; x="b c"');
    expect(errorCode(() => formatExtensions([{ name: 'a b', params: {} }]))).toBe('bad-extension');
    expect(errorCode(() => formatExtensions([{ name: 'a', params: { 'x y': true } }]))).toBe('bad-extension');
    expect(errorCode(() => formatExtensions([{ name: 'a', params: { x: 'a\r\nb' } }]))).toBe('bad-extension');
  });
});

describe('RFC 7692 §7.1 permessage-deflate offers', () => {
  it('offers like a browser by default', () => {
    expect(formatExtensions([deflateOffer()])).toBe('permessage-deflate; client_max_window_bits');
  });

  it('writes every parameter it is given', () => {
    const offer = deflateOffer({
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 12,
    });
    expect(formatExtensions([offer])).toBe(
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
    );
    expect(formatExtensions([deflateOffer({ clientMaxWindowBits: false })])).toBe('permessage-deflate');
  });

  it('refuses window bits outside 8..15', () => {
    expect(errorCode(() => deflateOffer({ serverMaxWindowBits: 7 }))).toBe('bad-extension');
    expect(errorCode(() => deflateOffer({ clientMaxWindowBits: 16 }))).toBe('bad-extension');
    expect(errorCode(() => deflateOffer({ clientMaxWindowBits: 9.5 }))).toBe('bad-extension');
  });
});

// Client side: [case, offer, response, expected params | rejection pattern]
const clientTable: Array<[string, string, string, Partial<DeflateParams> | RegExp]> = [
  ['§7.1 no parameters either way', 'permessage-deflate', 'permessage-deflate', {}],
  ['§7.1.1.1 server_no_context_takeover asked and granted', 'permessage-deflate; server_no_context_takeover', 'permessage-deflate; server_no_context_takeover', { serverNoContextTakeover: true }],
  ['§7.1.1.1 server_no_context_takeover asked, response lacks it', 'permessage-deflate; server_no_context_takeover', 'permessage-deflate', /must include it/],
  ['§7.1.1.1 server_no_context_takeover volunteered by the server', 'permessage-deflate', 'permessage-deflate; server_no_context_takeover', { serverNoContextTakeover: true }],
  ['§7.1.1.1 server_no_context_takeover with a value', 'permessage-deflate', 'permessage-deflate; server_no_context_takeover=1', /must not have a value/],
  ['§7.1.1.2 client_no_context_takeover set by the server unasked', 'permessage-deflate', 'permessage-deflate; client_no_context_takeover', { clientNoContextTakeover: true }],
  ['§7.1.1.2 client_no_context_takeover hinted in the offer only', 'permessage-deflate; client_no_context_takeover', 'permessage-deflate', { clientNoContextTakeover: true }],
  ['§7.1.2.1 server_max_window_bits asked, granted smaller', 'permessage-deflate; server_max_window_bits=10', 'permessage-deflate; server_max_window_bits=9', { serverMaxWindowBits: 9 }],
  ['§7.1.2.1 server_max_window_bits asked, granted equal', 'permessage-deflate; server_max_window_bits=10', 'permessage-deflate; server_max_window_bits=10', { serverMaxWindowBits: 10 }],
  ['§7.1.2.1 server_max_window_bits asked, granted larger', 'permessage-deflate; server_max_window_bits=10', 'permessage-deflate; server_max_window_bits=11', /larger than the 10 offered/],
  ['§7.1.2.1 server_max_window_bits asked, response lacks it', 'permessage-deflate; server_max_window_bits=10', 'permessage-deflate', /must include server_max_window_bits/],
  ['§7.1.2.1 server_max_window_bits volunteered by the server', 'permessage-deflate', 'permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 12 }],
  ['§7.1.2.1 server_max_window_bits without a value', 'permessage-deflate', 'permessage-deflate; server_max_window_bits', /must be a number from 8 to 15/],
  ['§7.1.2.1 server_max_window_bits=7', 'permessage-deflate', 'permessage-deflate; server_max_window_bits=7', /must be a number from 8 to 15/],
  ['§7.1.2.1 server_max_window_bits=16', 'permessage-deflate', 'permessage-deflate; server_max_window_bits=16', /must be a number from 8 to 15/],
  ['§7.1.2 leading zero', 'permessage-deflate', 'permessage-deflate; server_max_window_bits=010', /without leading zeros/],
  ['§7.1.2.2 client_max_window_bits offered bare, server limits it', 'permessage-deflate; client_max_window_bits', 'permessage-deflate; client_max_window_bits=10', { clientMaxWindowBits: 10 }],
  ['§7.1.2.2 client_max_window_bits offered bare, server ignores it', 'permessage-deflate; client_max_window_bits', 'permessage-deflate', {}],
  ['§7.1.2.2 client_max_window_bits=12 offered, server ignores it', 'permessage-deflate; client_max_window_bits=12', 'permessage-deflate', { clientMaxWindowBits: 12 }],
  ['§7.1.2.2 client_max_window_bits=12 offered, server answers 13', 'permessage-deflate; client_max_window_bits=12', 'permessage-deflate; client_max_window_bits=13', /larger than the 12 offered/],
  ['§7.1.2.2 client_max_window_bits not offered but in the response', 'permessage-deflate', 'permessage-deflate; client_max_window_bits=10', /did not include it/],
  ['§7.1.2.2 client_max_window_bits in a response without a value', 'permessage-deflate; client_max_window_bits', 'permessage-deflate; client_max_window_bits', /must be a number/],
  ['§7.1 unknown parameter in the response', 'permessage-deflate', 'permessage-deflate; x_foo', /unknown parameter x_foo/],
  [
    '§7.1 everything at once',
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits',
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=9',
    { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 11, clientMaxWindowBits: 9 },
  ],
];

describe('RFC 7692 §7.1 negotiation, client side (negotiateDeflateResponse)', () => {
  it.each(clientTable)('%s', (_name, offer, response, expected) => {
    const r = negotiateDeflateResponse(one(offer), one(response));
    if (expected instanceof RegExp) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(expected);
    } else {
      expect(r).toEqual({ ok: true, params: params(expected) });
    }
  });

  it('refuses a response with a duplicate parameter (at parse time)', () => {
    expect(() => parseExtensions(['permessage-deflate; server_max_window_bits=10; server_max_window_bits=10'])).toThrow(ExtensionError);
  });

  it('refuses when the offer itself is invalid', () => {
    const r = negotiateDeflateResponse(pmd({ server_max_window_bits: true }), pmd());
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/offer itself is invalid/);
  });

  it('refuses other extensions', () => {
    expect(negotiateDeflateResponse(pmd(), { name: 'x-foo', params: {} }).ok).toBe(false);
  });
});

describe('RFC 7692 §7.1 negotiation, server side (acceptDeflateOffer)', () => {
  it('accepts the default browser offer with no parameters', () => {
    expect(acceptDeflateOffer([deflateOffer()])).toEqual({ response: pmd(), params: params() });
  });

  it('declines when nothing is offered', () => {
    expect(acceptDeflateOffer([])).toBeNull();
    expect(acceptDeflateOffer([{ name: 'x-foo', params: {} }])).toBeNull();
  });

  it('echoes server_no_context_takeover when asked (§7.1.1.1)', () => {
    const r = acceptDeflateOffer([pmd({ server_no_context_takeover: true })]);
    expect(r?.response).toEqual(pmd({ server_no_context_takeover: true }));
    expect(r?.params.serverNoContextTakeover).toBe(true);
  });

  it('answers server_max_window_bits with the smaller of offer and preference (§7.1.2.1)', () => {
    expect(acceptDeflateOffer([pmd({ server_max_window_bits: '10' })])?.response).toEqual(pmd({ server_max_window_bits: '10' }));
    expect(acceptDeflateOffer([pmd({ server_max_window_bits: '10' })], { serverMaxWindowBits: 9 })?.params.serverMaxWindowBits).toBe(9);
    expect(acceptDeflateOffer([pmd()], { serverMaxWindowBits: 12 })?.response).toEqual(pmd({ server_max_window_bits: '12' }));
  });

  it('limits the client window only when the offer allows it (§7.1.2.2)', () => {
    expect(acceptDeflateOffer([pmd()], { clientMaxWindowBits: 10 })).toBeNull();
    const r = acceptDeflateOffer([pmd({ client_max_window_bits: true })], { clientMaxWindowBits: 10 });
    expect(r?.response).toEqual(pmd({ client_max_window_bits: '10' }));
    expect(r?.params.clientMaxWindowBits).toBe(10);
    expect(acceptDeflateOffer([pmd({ client_max_window_bits: '9' })], { clientMaxWindowBits: 10 })?.params.clientMaxWindowBits).toBe(9);
  });

  it('skips invalid offers and takes the first acceptable fallback (RFC 7692 §5)', () => {
    const offers = parseExtensions(['permessage-deflate; x_unknown, permessage-deflate; server_max_window_bits=11']);
    expect(acceptDeflateOffer(offers)?.response).toEqual(pmd({ server_max_window_bits: '11' }));
  });

  it('produces responses the client side accepts with the same params', () => {
    const offers = [
      deflateOffer(),
      deflateOffer({ clientMaxWindowBits: 12, serverMaxWindowBits: 10, serverNoContextTakeover: true }),
      deflateOffer({ clientNoContextTakeover: true, clientMaxWindowBits: false }),
    ];
    const prefsList = [{}, { clientNoContextTakeover: true, serverMaxWindowBits: 9 }, { serverNoContextTakeover: true }];
    for (const offer of offers) {
      for (const prefs of prefsList) {
        const r = acceptDeflateOffer([offer], prefs);
        expect(r).not.toBeNull();
        const text = formatExtensions([r!.response]);
        expect(negotiateDeflateResponse(offer, one(text))).toEqual({ ok: true, params: r!.params });
      }
    }
  });
});
