/**
 * Times as Go's Time.String() writes them in the local zone, which docker's CLI prints as
 * `CreatedAt`: the zone named as the tz database names it (what Go reads), for the zone $TZ
 * gives. A process's zone is fixed when it starts, so each zone is tried in a node of its own,
 * on the built ctr; the outputs are docker CLI 28's for the same times (ctr's against ctrd).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const built = join(__dirname, '..', 'dist', 'format.js');

/** What `call` (an expression on ctr's format module, `f`) gives in a node whose $TZ is `zone`. */
function inZone(zone: string, call: string): string {
  const script = `const f = require(${JSON.stringify(built)}); process.stdout.write(${call})`;
  return execFileSync(process.execPath, ['-e', script], { env: { ...process.env, TZ: zone }, encoding: 'utf8' });
}

/** 2026-11-23T01:45:16Z, in winter north of the equator. */
const WINTER = 1795398316;
/** 1990-06-21T20:26:40Z, in summer, under older rules (Moscow's MSD). */
const SUMMER_1990 = 646000000;

describe("a Unix time in the local zone, as Go's Time.String() names the zone", () => {
  test.each([
    ['UTC', WINTER, '2026-11-23 01:45:16 +0000 UTC'],
    ['Asia/Kolkata', WINTER, '2026-11-23 07:15:16 +0530 IST'],
    ['Europe/Berlin', WINTER, '2026-11-23 02:45:16 +0100 CET'],
    ['Europe/Berlin', SUMMER_1990, '1990-06-21 22:26:40 +0200 CEST'],
    ['America/New_York', SUMMER_1990, '1990-06-21 16:26:40 -0400 EDT'],
    ['Europe/Moscow', SUMMER_1990, '1990-06-22 00:26:40 +0400 MSD'],
  ])('%s at %d: its abbreviation from the tz database', (zone, seconds, expected) => {
    expect(inZone(zone, `f.goUnixTime(${seconds})`)).toBe(expected);
  });

  test('a zone the tz database names by its offset is named so', () => {
    expect(inZone('Asia/Dubai', `f.goUnixTime(${WINTER})`)).toBe('2026-11-23 05:45:16 +0400 +04');
  });

  test("$TZ as a file, or with POSIX's leading colon, names the same zone", () => {
    expect(inZone('/usr/share/zoneinfo/Asia/Tokyo', `f.goUnixTime(${WINTER})`)).toBe('2026-11-23 10:45:16 +0900 JST');
    expect(inZone(':Asia/Tokyo', `f.goUnixTime(${WINTER})`)).toBe('2026-11-23 10:45:16 +0900 JST');
  });

  test('an empty or unknown $TZ is UTC, as Go falls back to it', () => {
    expect(inZone('', `f.goUnixTime(${WINTER})`)).toBe('2026-11-23 01:45:16 +0000 UTC');
    expect(inZone('Nowhere/Atlantis', `f.goUnixTime(${WINTER})`)).toBe('2026-11-23 01:45:16 +0000 UTC');
  });
});

describe('an RFC 3339 time (a network\'s Created)', () => {
  test("at the local zone's offset, it is in the local zone and named for it", () => {
    expect(inZone('Europe/Berlin', "f.goTimeString('2026-11-23T02:45:16.5+01:00')")).toBe('2026-11-23 02:45:16.5 +0100 CET');
  });

  test('at another offset, the zone is named by its number', () => {
    expect(inZone('Asia/Kolkata', "f.goTimeString('2026-11-23T02:45:16+01:00')")).toBe('2026-11-23 02:45:16 +0100 +0100');
  });
});
