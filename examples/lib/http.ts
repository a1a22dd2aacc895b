import { request } from 'node:http';

/** The body of a GET, trimmed: what the examples' web servers answer. */
export function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(body.trim()));
    })
      .on('error', reject)
      .end();
  });
}
