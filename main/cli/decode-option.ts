// `--decode PROTOCOL` (connect, proxy, decode, export): which application protocol to decode
// the messages as, `none`, or `auto` (the default: detect). A wrong name is a usage error.
// `--proto FILE [--proto-type NAME]`: protobuf messages decoded with a .proto's types.
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { parseDecodeChoice, type DecodeChoice, type EngineDecoders } from '../../shared/decoders';
import { UsageError } from './output';

export function decodeChoice(value: string): DecodeChoice {
  const choice = parseDecodeChoice(value);
  if (choice === value) return choice as DecodeChoice;
  throw new InvalidArgumentError(choice.replace(/^--decode "[^"]*": /, ''));
}

/** A .proto that does not load: one line naming the file and line, exit 1. */
export class ProtoFileError extends Error {
  override name = 'ProtoFileError';
}

export interface DecodeOptions {
  decode?: DecodeChoice;
  proto?: string;
  protoType?: string;
}

/** The options every decoding command takes. */
export function addDecodeOptions(cmd: Command, prefix = ''): Command {
  return cmd
    .option('--decode <protocol>', `${prefix}decode messages as this protocol (docs/contracts.md), none, or auto (default: detect)`, decodeChoice)
    .option('--proto <file>', `${prefix}decode protobuf messages with this .proto file's types (implies --decode protobuf)`)
    .option('--proto-type <name>', `${prefix}the --proto message type: pkg.Msg, or client=pkg.Req,server=pkg.Resp (default: the file's one top-level message)`);
}

function readProto(file: string, what: string, maxBytes: number): string {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new ProtoFileError(`${what} ${file} is not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof ProtoFileError) throw err;
    throw new ProtoFileError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (size > maxBytes) throw new ProtoFileError(`${what} ${file}: over ${maxBytes / 1024 / 1024} MiB`);
  return readFileSync(file, 'utf8');
}

/** The decode options that contradict each other: a UsageError. */
export function checkDecodeOptions(o: DecodeOptions): void {
  if (o.proto === undefined && o.protoType !== undefined) throw new UsageError('--proto-type needs --proto FILE');
  if (o.proto !== undefined && o.decode !== undefined && o.decode !== 'protobuf') throw new UsageError(`--proto decodes as protobuf, not --decode ${o.decode}`);
}

/**
 * The decode choice and the decoders for a command's options. A .proto that does not parse
 * is a ProtoFileError (exit 1); a type it does not have, or --proto-type alone, a UsageError.
 * The engine's decoders (their libraries are most of the CLI's code) are loaded here, when a
 * command decodes, not when the CLI starts.
 */
export async function decodeSetup(o: DecodeOptions): Promise<{ decode: DecodeChoice | undefined; decoders: EngineDecoders }> {
  checkDecodeOptions(o);
  if (o.proto === undefined) return { decode: o.decode, decoders: await engineDecoders() };
  const [{ withProto }, { MAX_PROTO_BYTES, ProtoError, loadProto, pickTypes }] = await Promise.all([import('../engine/decoders'), import('../engine/decoders/protobuf')]);
  const base = dirname(resolve(o.proto));
  let schema;
  try {
    schema = loadProto(o.proto, readProto(o.proto, '--proto', MAX_PROTO_BYTES), (name) => {
      const path = resolve(base, name);
      try {
        statSync(path);
      } catch {
        return null;
      }
      return readProto(path, 'the import', MAX_PROTO_BYTES);
    });
  } catch (err) {
    if (err instanceof ProtoError) throw new ProtoFileError(err.message);
    throw err;
  }
  try {
    return { decode: 'protobuf', decoders: withProto(pickTypes(schema, o.protoType)) };
  } catch (err) {
    if (err instanceof ProtoError) throw new UsageError(err.message);
    throw err;
  }
}

/** The engine's decoders (shared/decoders EngineDecoders), loaded on first use. */
export async function engineDecoders(): Promise<EngineDecoders> {
  return (await import('../engine/decoders')).ENGINE_DECODERS;
}
