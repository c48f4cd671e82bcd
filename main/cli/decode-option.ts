// `--decode PROTOCOL` (connect, proxy, decode, export): which application protocol to decode
// the messages as, `none`, or `auto` (the default: detect). A wrong name is a usage error.
import { InvalidArgumentError } from 'commander';
import { parseDecodeChoice, type DecodeChoice } from '../../shared/decoders';

export function decodeChoice(value: string): DecodeChoice {
  const choice = parseDecodeChoice(value);
  if (choice === value) return choice as DecodeChoice;
  throw new InvalidArgumentError(choice.replace(/^--decode "[^"]*": /, ''));
}

