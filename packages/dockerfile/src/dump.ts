import { goQuote } from './go-quote';
import { DockerfileNode, ParseResult } from './parser';

/** One node in BuildKit's AST dump notation: `copy ["--from=a"] "x" "/y"`. */
export function dumpNode(node: DockerfileNode): string {
  let out = node.keyword.toLowerCase();
  if (node.flags.length > 0) out += ' [' + node.flags.map(goQuote).join(' ') + ']';
  if (node.trigger) out += ' (' + dumpNode(node.trigger) + ')';
  for (const arg of node.args) out += ' ' + goQuote(arg);
  return out.trim();
}

/** The whole file as BuildKit's `Node.Dump()` prints it (one parenthesised line per instruction). */
export function dump(result: ParseResult): string {
  return result.nodes.map((n) => `(${dumpNode(n)})`).join('\n');
}
