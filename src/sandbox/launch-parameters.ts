/** launchParameters could not be split (an unclosed quote or a trailing backslash). */
export class LaunchParametersError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaunchParametersError';
  }
}

/**
 * Splits a launchParameters string into arguments with simple shell-like quoting: whitespace
 * separates, '...' is literal, "..." allows \" and \\ inside, a backslash outside quotes escapes
 * the next character. No expansion of any kind happens and no shell is ever invoked.
 */
export function splitLaunchParameters(input: string): string[] {
  const args: string[] = [];
  let current = '';
  let inArgument = false; // distinguishes "" (an empty argument) from no argument
  let i = 0;
  while (i < input.length) {
    const ch = input[i] as string;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      if (inArgument) {
        args.push(current);
        current = '';
        inArgument = false;
      }
      i++;
    } else if (ch === "'") {
      const end = input.indexOf("'", i + 1);
      if (end === -1) throw new LaunchParametersError('unclosed single quote in launchParameters');
      current += input.slice(i + 1, end);
      inArgument = true;
      i = end + 1;
    } else if (ch === '"') {
      inArgument = true;
      i++;
      let closed = false;
      while (i < input.length) {
        const c = input[i] as string;
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        if (c === '\\' && (input[i + 1] === '"' || input[i + 1] === '\\')) {
          current += input[i + 1];
          i += 2;
        } else {
          current += c;
          i++;
        }
      }
      if (!closed) throw new LaunchParametersError('unclosed double quote in launchParameters');
    } else if (ch === '\\') {
      if (i + 1 >= input.length) throw new LaunchParametersError('trailing backslash in launchParameters');
      current += input[i + 1];
      inArgument = true;
      i += 2;
    } else {
      current += ch;
      inArgument = true;
      i++;
    }
  }
  if (inArgument) args.push(current);
  return args;
}
