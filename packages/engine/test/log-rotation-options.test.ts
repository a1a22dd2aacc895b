/**
 * `--log-opt max-size / max-file / compress`, as moby's json-file and local drivers take and
 * check them: what the runtime is asked for (files of a size, how many, gzipped or not).
 */
import { logSettings } from '../src/log-config';

test('max-size and max-file ask for that many files of that size', () => {
  expect(logSettings({ options: { 'max-size': '1k', 'max-file': '3' } })).toEqual({ logSizeMax: '1k', logMaxFiles: 3, warnings: [] });
});

test('max-file 1, or max-file without max-size, leaves one file', () => {
  expect(logSettings({ options: { 'max-size': '1k', 'max-file': '1' } })).toEqual({ logSizeMax: '1k', warnings: [] });
  expect(logSettings({ options: { 'max-file': '3' } })).toEqual({ warnings: [] });
});

test('compress gzips the rotated files', () => {
  expect(logSettings({ driver: 'json-file', options: { 'max-size': '1k', 'max-file': '2', compress: 'true' } })).toEqual({
    logSizeMax: '1k',
    logMaxFiles: 2,
    logCompress: true,
    warnings: [],
  });
  expect(logSettings({ options: { 'max-size': '1k', 'max-file': '2', compress: 'false' } })).toEqual({ logSizeMax: '1k', logMaxFiles: 2, warnings: [] });
});

test("compress without files to rotate is refused in moby's words", () => {
  expect(() => logSettings({ options: { 'max-size': '1k', compress: 'true' } })).toThrow('compress cannot be true when max-file is less than 2 or max-size is not set');
  expect(() => logSettings({ options: { 'max-file': '3', compress: 'true' } })).toThrow('compress cannot be true when max-file is less than 2 or max-size is not set');
});

test('compress must be a boolean and max-file a number of at least 1', () => {
  expect(() => logSettings({ options: { 'max-size': '1k', 'max-file': '2', compress: 'yes' } })).toThrow('strconv.ParseBool: parsing "yes": invalid syntax');
  expect(() => logSettings({ options: { 'max-size': '1k', 'max-file': 'two' } })).toThrow('strconv.Atoi: parsing "two": invalid syntax');
  expect(() => logSettings({ options: { 'max-size': '1k', 'max-file': '0' } })).toThrow('max-file cannot be less than 1');
});

test("the local driver rotates by default, as moby's: five gzipped files of 20 MB", () => {
  expect(logSettings({ driver: 'local' })).toEqual({ logSizeMax: '20m', logMaxFiles: 5, logCompress: true, warnings: [] });
  expect(logSettings({ driver: 'local', options: { 'max-file': '2', compress: 'false' } })).toEqual({ logSizeMax: '20m', logMaxFiles: 2, warnings: [] });
  expect(() => logSettings({ driver: 'local', options: { 'max-file': '1' } })).toThrow('compression cannot be enabled when max file count is 1');
});

test('the none driver takes any options, as moby\'s, and asks for no log at all', () => {
  expect(logSettings({ driver: 'none', options: { 'max-size': 'big', tag: 'x' } })).toEqual({ noLog: true, warnings: [] });
});
