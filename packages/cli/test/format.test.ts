import { humanDuration } from '@ctr/engine';
import { commandColumn, formatItems, humanSize, renderTable, renderTemplate } from '../src/format';

describe('docker-style output', () => {
  test('tables pad columns to the widest cell plus three spaces, at least ten', () => {
    expect(renderTable([['ID', 'NAME'], ['abc', 'web']])).toBe('ID        NAME\nabc       web');
    expect(renderTable([['CONTAINER ID', 'X'], ['1', 'y']])).toBe('CONTAINER ID   X\n1              y');
  });

  test('templates read fields, nested fields, json and index', () => {
    const item = { ID: 'abc', State: { Status: 'running' }, Labels: { app: 'web' } };
    expect(renderTemplate('{{.ID}} {{.State.Status}}', item)).toBe('abc running');
    expect(renderTemplate('{{json .Labels}}', item)).toBe('{"app":"web"}');
    expect(renderTemplate('{{index .Labels "app"}}', item)).toBe('web');
    expect(renderTemplate('{{.Missing}}', item)).toBe('<no value>');
  });

  test('a table format prints a header row from the field names', () => {
    const out = formatItems('table {{.ID}}\\t{{.Names}}', [{ ID: 'abc', Names: 'web' }], { ID: 'CONTAINER ID', Names: 'NAMES' });
    expect(out).toBe('CONTAINER ID   NAMES\nabc            web');
  });

  test('durations read like go-units', () => {
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(1000)).toBe('1 second');
    expect(humanDuration(45_000)).toBe('45 seconds');
    expect(humanDuration(61_000)).toBe('About a minute');
    expect(humanDuration(5 * 60_000)).toBe('5 minutes');
    expect(humanDuration(3600_000)).toBe('About an hour');
    expect(humanDuration(3 * 86400_000)).toBe('3 days');
    expect(humanDuration(20 * 86400_000)).toBe('2 weeks');
  });

  test('sizes use decimal units with three significant digits', () => {
    expect(humanSize(915)).toBe('915B');
    expect(humanSize(4_261_234)).toBe('4.26MB');
    expect(humanSize(1_240)).toBe('1.24kB');
    expect(humanSize(123_456_789)).toBe('123MB');
  });

  test('the COMMAND column is quoted and cut at 20 characters', () => {
    expect(commandColumn("sh -c 'exit 3'")).toBe('"sh -c \'exit 3\'"');
    expect(commandColumn("/bin/sh -c 'while true; do sleep 1; done'")).toBe('"/bin/sh -c \'while t…"');
  });
});
