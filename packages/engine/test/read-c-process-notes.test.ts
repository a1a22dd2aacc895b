/**
 * A process's note (`makeNote`, what a hold on a container's root filesystem and a freeze for a
 * copy are noted by) that cannot be made fails as a CtrError that names where it was to go.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeNote } from '../src/process-notes';

test('a note whose directory cannot be made is an Internal error naming the directory and the cause', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'read-c-notes-'));
  try {
    // (Under jest the fs error is of another realm, so its text may carry an `Error: ` prefix.)
    // A file where the notes' parent directory should be: mkdir fails with ENOTDIR, not the ENOENT that is retried.
    writeFileSync(path.join(dir, 'holders'), '');
    const notes = path.join(dir, 'holders', 'c1');
    expect(() => makeNote(notes)).toThrow(expect.objectContaining({ code: 'Internal', message: expect.stringMatching(new RegExp(`^noting process ${process.pid} in ${notes}: .*ENOTDIR: not a directory`)) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
