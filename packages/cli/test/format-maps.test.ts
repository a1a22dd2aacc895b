/**
 * Maps in output, as Go writes them: docker's `json` template function and `inspect` encode a
 * map (Labels, Options, NetworkSettings.Networks, LogConfig.Config, …) with its keys sorted by
 * bytes and a struct in field order; printing a map gives `map[k:v …]`, sorted the same way.
 */
import { formatItems, goJson, renderTemplate } from '../src/format';

const container = {
  Id: 'abc',
  Config: { Labels: { zeta: '1', Alpha: '2', beta: '3' }, Image: 'busybox', Hostname: 'abc' },
  HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', labels: 'x', 'max-file': '2' } } },
  NetworkSettings: { Networks: { web: { IPAddress: '10.0.0.2', Aliases: null }, bridge: { IPAddress: '172.17.0.2', Aliases: null } } },
};

test("{{json .Config.Labels}} gives the labels' keys in Go's order", () => {
  expect(renderTemplate('{{json .Config.Labels}}', container)).toBe('{"Alpha":"2","beta":"3","zeta":"1"}');
});

test('{{json .}} sorts the keys of maps and keeps the fields of structs in their order', () => {
  expect(JSON.parse(renderTemplate('{{json .}}', container))).toEqual(container);
  const text = renderTemplate('{{json .}}', container);
  expect(text).toContain('"Config":{"Labels":{"Alpha":"2","beta":"3","zeta":"1"},"Image":"busybox","Hostname":"abc"}');
  expect(text).toContain('"Networks":{"bridge":{"IPAddress":"172.17.0.2","Aliases":null},"web":{"IPAddress":"10.0.0.2","Aliases":null}}');
});

test("a log driver's Config is a map, sorted; a container's Config a struct, not", () => {
  expect(renderTemplate('{{json .HostConfig.LogConfig}}', container)).toBe('{"Type":"json-file","Config":{"labels":"x","max-file":"2","max-size":"1m"}}');
  expect(renderTemplate('{{json .Config}}', container)).toMatch(/^\{"Labels":.*,"Image":"busybox","Hostname":"abc"\}$/);
});

test('{{.Config.Labels}} prints the map as Go does: map[k:v …] in byte order', () => {
  expect(renderTemplate('{{.Config.Labels}}', container)).toBe('map[Alpha:2 beta:3 zeta:1]');
});

test("inspect's JSON (and --format json) sorts maps the same way", () => {
  expect(goJson([container], { indent: 4 })).toBe(JSON.stringify([JSON.parse(renderTemplate('{{json .}}', container))], null, 4));
  expect(formatItems('json', [container], {})).toBe(renderTemplate('{{json .}}', container));
});
