import { randomBytes } from 'node:crypto';

/** Xauth family that matches any host: the display may be reached under any name. */
const FAMILY_WILD = 0xffff;

function counted(value: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(value.length);
  return Buffer.concat([length, value]);
}

export function newCookie(): Buffer {
  return randomBytes(16);
}

/**
 * One Xauthority entry (the format libXau reads) with MIT-MAGIC-COOKIE-1. An empty display
 * number matches every display, so the file can be written before Xvnc has picked its number.
 */
export function xauthorityEntry(cookie: Buffer, displayNumber = ''): Buffer {
  const family = Buffer.alloc(2);
  family.writeUInt16BE(FAMILY_WILD);
  return Buffer.concat([
    family,
    counted(Buffer.alloc(0)),
    counted(Buffer.from(displayNumber, 'latin1')),
    counted(Buffer.from('MIT-MAGIC-COOKIE-1', 'latin1')),
    counted(cookie),
  ]);
}
