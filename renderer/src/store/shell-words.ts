// The Intercept panel's terminal command: one line split into argv the way a POSIX shell
// splits words — 'single quotes' keep everything, "double quotes" keep everything but \" \\ \$ \`,
// a backslash outside quotes keeps the next character. Nothing else of a shell: no variables,
// globs, pipes or redirections (the command is run directly, not by a shell).

export type ShellWords = { argv: string[] } | { error: string };

/** Characters a shell gives a meaning this parser does not: said, not silently passed on. */
const OPERATORS = new Set(['|', '&', ';', '<', '>']);

export function shellWords(line: string): ShellWords {
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return { error: 'a single quote is not closed' };
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return { error: 'a double quote is not closed' };
        const d = line[i]!;
        if (d === '"') break;
        if (d === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) {
          word += line[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      inWord = true;
      i++;
    } else if (c === '\\') {
      if (i + 1 >= line.length) return { error: 'the line ends with a backslash' };
      word += line[i + 1];
      inWord = true;
      i += 2;
    } else if (OPERATORS.has(c)) {
      return { error: `${c} is shell syntax: the command runs without a shell (wrap it: sh -c '…')` };
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) argv.push(word);
  if (argv.length === 0) return { error: 'type a command to run' };
  return { argv };
}
