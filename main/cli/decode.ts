// `framescope decode <file> --from client|server`: decode a raw post-handshake byte stream
// in the observer stance (record violations, keep going), streaming the file.
import { createReadStream, statSync } from 'node:fs';
import { FrameParser } from '../../shared/codec/frame-parser';
import { MessageAssembler } from '../../shared/codec/messages';
import type { WireFrame } from '../../shared/codec/frame';
import type { Side } from '../../shared/model';
import { ConnectionRecorder } from '../engine/recorder';
import { zlibCompression } from '../engine/zlib-compression';
import { EXIT_OK, UsageError, eventPrinter, printLine } from './output';

export interface DecodeCliOptions {
  from: Side;
  json: boolean;
  stats: boolean;
  hex: boolean;
  /** inflate RSV1 messages as permessage-deflate with these window bits (context takeover on) */
  deflate: boolean;
}

export async function runDecode(file: string, o: DecodeCliOptions): Promise<number> {
  try {
    if (!statSync(file).isFile()) throw new UsageError(`${file} is not a file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const print = o.stats ? null : eventPrinter({ json: o.json, hex: o.hex });
  const recorder = new ConnectionRecorder({ id: 'decode', mode: 'client', url: `file:${file}`, startedAt: Date.now() });
  if (print) recorder.addSink(print);

  const parser = new FrameParser({ from: o.from, stance: 'observer', rsv1Allowed: o.deflate });
  const assembler = new MessageAssembler({
    from: o.from,
    compression: o.deflate ? { inflater: zlibCompression.inflater(15, false) } : null,
  });
  let frames = 0;
  let messages = 0;
  let violations = 0;
  let bytes = 0;
  // Frames are not kept: the recorder's list would grow with the file.
  const onFrame = (f: WireFrame) => {
    frames++;
    const message = f.opcode <= 2 ? assembler.push(f) : null;
    if (message) messages++;
    violations += f.violations.length;
    if (print) {
      recorder.frame(f, message ? { message } : {});
      recorder.record.frames.length = 0;
    }
  };
  const time = Date.now();
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    bytes += buf.length;
    for (const f of parser.receive(buf, time)) onFrame(f);
  }
  for (const f of parser.end(time)) onFrame(f);
  if (o.stats) printLine(JSON.stringify({ frames, bytes, messages, violations }));
  return EXIT_OK;
}
