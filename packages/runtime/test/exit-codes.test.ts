/**
 * How a process that could not start is reported: dockerd's words (containerd's part
 * included) and the exit codes moby's translateContainerdStartErr records, and the status
 * docker's CLI gives such a `docker run`. Pure: runc's messages as runc 1.1 logs them.
 */
import { isInvalidArgument } from '@ctr/errors';
import { runExitStatus } from '@ctr/runtime';
import { startFailure } from '../src/exit-codes';

const NOT_FOUND = 'runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH';
const HINT = 'Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type';

describe('startFailure: a container that could not start', () => {
  test("is said in docker 28's words, containerd's `: unknown` included", () => {
    expect(startFailure(NOT_FOUND).message).toBe(
      `failed to create task for container: failed to create shim task: OCI runtime create failed: ${NOT_FOUND}: unknown`,
    );
  });

  test('is an invalid argument that keeps what runc said', () => {
    const error = startFailure(`${NOT_FOUND}\n`);
    expect(isInvalidArgument(error)).toBe(true);
    expect(error.details.runtimeError).toBe(NOT_FOUND);
  });

  test('records 127 for a program that is not found', () => {
    expect(startFailure(NOT_FOUND).details.exitCode).toBe(127);
  });

  test('records 127 for a path that does not exist', () => {
    expect(startFailure('runc create failed: unable to start container process: exec: "/missing": stat /missing: no such file or directory').details.exitCode).toBe(127);
  });

  test('records 126 for a program that may not be run', () => {
    expect(startFailure('runc create failed: unable to start container process: exec: "/etc/passwd": permission denied').details.exitCode).toBe(126);
  });

  test('says `permission denied` after a directory, and records 126', () => {
    const error = startFailure('runc create failed: unable to start container process: exec: "/etc": is a directory');
    expect(error.message).toMatch(/is a directory: unknown: permission denied$/);
    expect(error.details.exitCode).toBe(126);
  });

  test("gives a path of the wrong type dockerd's hint, and records 127", () => {
    const error = startFailure('runc create failed: unable to start container process: error during container init: mkdir /bin/sh: not a directory');
    expect(error.message).toMatch(new RegExp(`not a directory: unknown: ${HINT.replace(/[()?]/g, '\\$&')}$`));
    expect(error.details.exitCode).toBe(127);
  });

  test('records 128 for any other failure', () => {
    expect(startFailure("runc create failed: unable to start container process: can't get final child's PID from pipe: EOF").details.exitCode).toBe(128);
  });

  test('does not say containerd\'s `unknown` twice', () => {
    expect(startFailure(`${NOT_FOUND}: unknown`).message).toMatch(/\$PATH: unknown$/);
  });
});

describe('startFailure: an exec that could not start', () => {
  test("is said in dockerd's words", () => {
    const runc = 'exec failed: unable to start container process: exec: "nosuchcmd": executable file not found in $PATH';
    expect(startFailure(runc, 'exec').message).toBe(`OCI runtime exec failed: ${runc}: unknown`);
  });

  test('records 127 for a working directory that does not exist', () => {
    const runc = 'exec failed: unable to start container process: chdir to cwd ("/nonexist") set in config.json failed: no such file or directory';
    expect(startFailure(runc, 'exec').details.exitCode).toBe(127);
  });

  test('records 126 for any other failure', () => {
    expect(startFailure('exec failed: unable to start container process: open /dev/pts/0: operation not permitted', 'exec').details.exitCode).toBe(126);
  });
});

describe("runExitStatus: docker's CLI's status for a run whose container could not start", () => {
  test('is 127 when something was not found', () => {
    expect(runExitStatus(startFailure(NOT_FOUND).message)).toBe(127);
  });

  test('is 126 when it could not be run', () => {
    expect(runExitStatus(startFailure('runc create failed: exec: "/etc": is a directory').message)).toBe(126);
  });

  test('is 125 for a path of the wrong type, though dockerd records 127', () => {
    expect(runExitStatus(startFailure('runc create failed: error during container init: mkdir /etc/passwd: not a directory').message)).toBe(125);
  });

  test('is 125 for any other failure', () => {
    expect(runExitStatus('failed to create task for container: something else: unknown')).toBe(125);
  });
});
