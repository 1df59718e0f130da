/**
 * Look-ups over Node's `IncomingMessage.rawHeaders` ([name, value, name, value, ...]).
 * SigV4 needs the headers as sent: repeated headers in arrival order, not the
 * `", "`-joined view of `req.headers`.
 */

/** Every value of the header `lowerName` (lower-case), in the order received. */
export function headerValues(rawHeaders: readonly string[], lowerName: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === lowerName) values.push(rawHeaders[i + 1]);
  }
  return values;
}

export function hasHeader(rawHeaders: readonly string[], lowerName: string): boolean {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === lowerName) return true;
  }
  return false;
}
