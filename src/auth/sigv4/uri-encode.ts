/**
 * RFC 3986 percent-encoding as SigV4 defines it: every byte of the UTF-8 form is
 * encoded as `%XY` (upper-case hex) except the unreserved set `A-Z a-z 0-9 - . _ ~`.
 */

const UNRESERVED = new Uint8Array(256);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') {
  UNRESERVED[ch.charCodeAt(0)] = 1;
}
const SLASH = 0x2f;
const PERCENT = 0x25;
const HEX = '0123456789ABCDEF';

/** Encodes bytes; `keepSlash` leaves `/` as is (for paths). */
export function uriEncodeBytes(bytes: Uint8Array, keepSlash: boolean): string {
  let out = '';
  for (const byte of bytes) {
    if (UNRESERVED[byte] === 1 || (keepSlash && byte === SLASH)) {
      out += String.fromCharCode(byte);
    } else {
      out += '%' + HEX[byte >> 4] + HEX[byte & 0x0f];
    }
  }
  return out;
}

/** Encodes the UTF-8 form of `text` (lone surrogates become U+FFFD rather than throwing). */
export function uriEncode(text: string, keepSlash: boolean): string {
  return uriEncodeBytes(Buffer.from(text, 'utf8'), keepSlash);
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  return -1;
}

/**
 * Decodes `%XY` escapes to the bytes they stand for. A `%` not followed by two hex
 * digits is kept literally, so decoding never fails (a client that sent a stray
 * `%` signed it as `%25`, which re-encoding reproduces).
 */
export function percentDecodeToBytes(text: string): Buffer {
  const input = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(input.length);
  let length = 0;
  for (let i = 0; i < input.length; i++) {
    const byte = input[i];
    if (byte === PERCENT && i + 2 < input.length) {
      const high = hexValue(input[i + 1]);
      const low = hexValue(input[i + 2]);
      if (high >= 0 && low >= 0) {
        out[length++] = (high << 4) | low;
        i += 2;
        continue;
      }
    }
    out[length++] = byte;
  }
  return out.subarray(0, length);
}
