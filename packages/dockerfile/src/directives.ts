import { SyntaxProblem } from './dockerfile-error';

/** A parser directive from the top of a Dockerfile: `# syntax=`, `# escape=`, `# check=`. */
export interface Directive {
  name: 'syntax' | 'escape' | 'check';
  value: string;
  line: number;
}

const directivePattern = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const known = new Set(['syntax', 'escape', 'check']);

/**
 * Reads directives while every line so far was one; the first other line (blank, comment,
 * instruction, unknown key) ends them for the rest of the file.
 */
export class DirectiveReader {
  private done = false;
  private lineNo = 0;
  private readonly seen = new Set<string>();
  readonly directives: Directive[] = [];

  /** Feed one physical line (newline removed). Returns the directive it held, if any. */
  read(line: string): Directive | undefined {
    this.lineNo++;
    if (this.done) return undefined;
    if (this.lineNo === 1 && line.startsWith('#!')) return undefined; // a shebang may precede directives
    const m = directivePattern.exec(line);
    const name = m?.[1]?.toLowerCase();
    if (!m || !name || !known.has(name)) {
      this.done = true;
      return undefined;
    }
    if (this.seen.has(name)) throw new SyntaxProblem(`only one ${name} parser directive can be used`);
    this.seen.add(name);
    const directive: Directive = { name: name as Directive['name'], value: m[2]!, line: this.lineNo };
    this.directives.push(directive);
    return directive;
  }
}
