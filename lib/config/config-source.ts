// The knobs of train/config.ts as data: a parser of the lines that set them and a minimal
// editor. A knob is a line of the config object, `  NAME: <literal>,` (indented, upper-case
// name), or a top-level, unindented `const NAME = <literal>;` (the layout of older configs).
// The literal is a number or an arithmetic expression of numbers (`2 ** 19`, `-1e-3`,
// `(1 + 2) / 4`), a string, true, false, null, or an array of numbers (ADAM_BETAS). Anything
// else (a call, an identifier, a multi-line value) is not a knob and is left alone. setKnob
// rewrites only the literal's characters, so formatting, comments and every other byte of the
// file stay as they were.

import { ConfigError } from '../errors';

/** The value of one knob as written in a config source. */
export type KnobValue = number | string | boolean | null | number[];

/** Knob name -> value, as parsed from a train/config.ts source (see parseKnobs). */
export type KnobValues = Record<string, KnobValue>;

/** Where a knob's value is written in the source. */
export interface KnobSite {
  /** The knob's name, e.g. `MATRIX_LR`. */
  name: string;
  /** Its value. */
  value: KnobValue;
  /** 0-based line number. */
  line: number;
  /** Offsets of the value expression in the source: [start, end). */
  start: number;
  end: number;
  /** The expression as written, e.g. `2 ** 19`. */
  text: string;
  /** For arrays: each element's offsets and text. */
  elements?: { start: number; end: number; text: string }[];
}

/** `  NAME: ` inside the config object, ending with a comma. */
const PROPERTY = /^[ \t]+([A-Z][A-Z0-9_]*)[ \t]*:[ \t]*/;
/** `const NAME = ` at the top level, ending with a semicolon. */
const DECLARATION = /^(?:export\s+)?const\s+([A-Z][A-Z0-9_]*)\s*(?::[^=;]*)?=[ \t]*/;

class Parser {
  pos: number;
  constructor(
    readonly text: string,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  fail(): never {
    throw new SyntaxError(`not a literal at ${this.pos}`);
  }

  skipSpace(): void {
    while (this.pos < this.end && (this.text[this.pos] === ' ' || this.text[this.pos] === '\t')) this.pos++;
  }

  peek(s: string): boolean {
    this.skipSpace();
    return this.text.startsWith(s, this.pos) && this.pos + s.length <= this.end;
  }

  eat(s: string): boolean {
    if (!this.peek(s)) return false;
    this.pos += s.length;
    return true;
  }

  /** value := string | true | false | null | '[' expr (',' expr)* ','? ']' | expr */
  value(): { value: KnobValue; elements?: { start: number; end: number; text: string }[] } {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === "'" || c === '"') return { value: this.string(c) };
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.pos) && !/[\w$]/.test(this.text[this.pos + word.length] ?? '')) {
        this.pos += word.length;
        return { value };
      }
    }
    if (this.eat('[')) {
      const values: number[] = [];
      const elements: { start: number; end: number; text: string }[] = [];
      while (!this.eat(']')) {
        this.skipSpace();
        const start = this.pos;
        values.push(this.expr());
        elements.push({ start, end: this.pos, text: this.text.slice(start, this.pos) });
        if (!this.eat(',') && !this.peek(']')) this.fail();
      }
      return { value: values, elements };
    }
    return { value: this.expr() };
  }

  string(quote: string): string {
    let out = '';
    this.pos++;
    while (this.pos < this.end) {
      const c = this.text[this.pos++]!;
      if (c === quote) return out;
      if (c === '\\') {
        const e = this.text[this.pos++] ?? '';
        out += ({ n: '\n', t: '\t', r: '\r', '0': '\0' } as Record<string, string>)[e] ?? e;
      } else out += c;
    }
    return this.fail();
  }

  expr(): number {
    let v = this.term();
    for (;;) {
      if (this.eat('+')) v += this.term();
      else if (this.peek('-')) {
        this.pos++;
        v -= this.term();
      } else return v;
    }
  }

  term(): number {
    let v = this.unary();
    for (;;) {
      if (this.peek('**')) return v;
      if (this.eat('*')) v *= this.unary();
      else if (this.peek('/') && !this.peek('//') && !this.peek('/*')) {
        this.pos++;
        v /= this.unary();
      } else if (this.eat('%')) v %= this.unary();
      else return v;
    }
  }

  unary(): number {
    if (this.eat('-')) return -this.unary();
    if (this.eat('+')) return +this.unary();
    const base = this.primary();
    return this.eat('**') ? base ** this.unary() : base;
  }

  primary(): number {
    if (this.eat('(')) {
      const v = this.expr();
      if (!this.eat(')')) this.fail();
      return v;
    }
    this.skipSpace();
    const m = /^(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)/.exec(
      this.text.slice(this.pos, this.end),
    );
    if (!m) this.fail();
    this.pos += m[0].length;
    return Number(m[0].replace(/_/g, ''));
  }
}

/** Every knob of a config source, in file order, with where its value is written. */
export function findKnobs(source: string): KnobSite[] {
  const sites: KnobSite[] = [];
  let offset = 0;
  const lines = source.split('\n');
  lines.forEach((line, index) => {
    const lineStart = offset;
    offset += line.length + 1;
    const property = PROPERTY.exec(line);
    const decl = property ?? DECLARATION.exec(line);
    if (!decl) return;
    const lineEnd = lineStart + line.replace(/\r$/, '').length;
    const parser = new Parser(source, lineStart + decl[0].length, lineEnd);
    try {
      const start = parser.pos;
      const { value, elements } = parser.value();
      const end = parser.pos;
      // After the value: an optional comma (property) or semicolon (const), then nothing but a comment.
      parser.eat(property ? ',' : ';');
      parser.skipSpace();
      const rest = source.slice(parser.pos, lineEnd);
      if (rest !== '' && !rest.startsWith('//') && !/^\/\*.*\*\/\s*(\/\/.*)?$/.test(rest)) return;
      if (typeof value === 'number' && !Number.isFinite(value)) return;
      if (Array.isArray(value) && !value.every(Number.isFinite)) return;
      sites.push({ name: decl[1]!, value, line: index, start, end, text: source.slice(start, end), ...(elements ? { elements } : {}) });
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
    }
  });
  return sites;
}

/** Knob name -> value for every knob line of a config source. */
export function parseKnobs(source: string): KnobValues {
  const knobs: KnobValues = {};
  for (const site of findKnobs(source)) knobs[site.name] = site.value;
  return knobs;
}

/** A number as source text; a power `B ** E` stays a power of B when the new value is one. */
export function formatNumber(value: number, previous?: string): string {
  if (!Number.isFinite(value)) throw new ConfigError(`${value} cannot be written as a knob value: use a finite number`);
  const power = previous ? /^(\d+)(\s*\*\*\s*)(\d+)$/.exec(previous.trim()) : null;
  if (power && value > 0) {
    const base = Number(power[1]);
    if (base > 1) {
      const exponent = Math.round(Math.log(value) / Math.log(base));
      if (exponent >= 1 && base ** exponent === value) return `${power[1]}${power[2]}${exponent}`;
    }
  }
  return Object.is(value, -0) ? '0' : String(value);
}

/** A knob value as source text, in the style of the text it replaces (quotes, powers). */
export function formatKnobValue(value: KnobValue, previous?: string): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return formatNumber(value, previous);
  if (typeof value === 'string') {
    const quote = previous?.trim().startsWith('"') ? '"' : "'";
    const escaped = value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(new RegExp(quote, 'g'), `\\${quote}`);
    return `${quote}${escaped}${quote}`;
  }
  return `[${value.map((v) => formatNumber(v)).join(', ')}]`;
}

function sameValue(a: KnobValue, b: KnobValue): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The source with knob `name` set to `value`: only the literal's characters change (for an
 * array of the same length, only the elements that differ). Throws ConfigError when the source
 * has no such knob.
 */
export function setKnob(source: string, name: string, value: KnobValue): string {
  const site = findKnobs(source).find((s) => s.name === name);
  if (!site) {
    throw new ConfigError(`the config has no knob ${name}: expected a line \`${name}: <literal>,\` in the config object`);
  }
  if (sameValue(site.value, value)) return source;
  if (Array.isArray(value) && Array.isArray(site.value) && site.elements && value.length === site.value.length) {
    let out = source;
    // Right to left, so earlier offsets stay valid.
    for (let i = value.length - 1; i >= 0; i--) {
      if (value[i] === site.value[i]) continue;
      const el = site.elements[i]!;
      out = out.slice(0, el.start) + formatNumber(value[i]!, el.text) + out.slice(el.end);
    }
    return out;
  }
  return source.slice(0, site.start) + formatKnobValue(value, site.text) + source.slice(site.end);
}

/** The canonical key of a set of knob values (equal for equal values, whatever the formatting). */
export function configKey(knobs: KnobValues): string {
  return JSON.stringify(Object.keys(knobs).sort().map((k) => [k, knobs[k]]));
}
