/**
 * The wait answer is moby's container.WaitResponse on the wire: `Error` (omitempty) before
 * `StatusCode`, so a clean exit is `{"StatusCode":0}` and a failed wait names its reason first.
 */
import { goJsonDocument } from '../src/go-json';
import { waitFailed } from '../src/lifecycle';

test('a failed wait is StatusCode -1 with its reason, Error written first as dockerd does', () => {
  expect(goJsonDocument(waitFailed(new Error('container gone')), true)).toBe('{"Error":{"Message":"container gone"},"StatusCode":-1}\n');
});
