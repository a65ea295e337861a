/**
 * The subset of Go's text/template that `--format` users actually write, with docker's template functions:
 * fields (`{{.State.Status}}`, `{{.Label "k"}}` on row objects), pipelines (`{{.Config | json}}`),
 * parentheses, variables, `if`/`else`/`with`/`range`/`end`, trim markers (`{{-` `-}}`), and the functions
 * json, index, join, split, upper, lower, title, len, print, println, printf, pad, truncate, eq, ne, not,
 * and, or. Values print like Go's fmt %v (maps as map[k:v], slices as [a b], missing as <no value>).
 * Pure.
 */

type Value = unknown;

interface Tok {
  t: 'field' | 'var' | 'str' | 'num' | 'ident' | '(' | ')' | '|' | ':=' | '=' | ',';
  v: string;
  /** Whitespace precedes this token (a field right after ')' applies to the parenthesised value). */
  sp: boolean;
}

type Operand =
  | { k: 'field'; base: 'dot' | { var: string } | { expr: Pipeline }; path: string[] }
  | { k: 'lit'; value: Value }
  | { k: 'ident'; name: string };

interface Pipeline {
  decl: string[];
  cmds: Operand[][];
}

type Node =
  | { k: 'text'; s: string }
  | { k: 'action'; p: Pipeline }
  | { k: 'if' | 'with'; p: Pipeline; then: Node[]; else: Node[] }
  | { k: 'range'; p: Pipeline; body: Node[]; else: Node[] };

export class TemplateError extends Error {
  constructor(message: string) {
    super(`template: ${message}`);
  }
}

function lexAction(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let sp = false;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      sp = true;
      i++;
      continue;
    }
    const push = (t: Tok['t'], v: string, len: number) => {
      toks.push({ t, v, sp });
      sp = false;
      i += len;
    };
    let m: RegExpExecArray | null;
    const rest = src.slice(i);
    if (c === '(' || c === ')' || c === '|' || c === ',') push(c, c, 1);
    else if (rest.startsWith(':=')) push(':=', ':=', 2);
    else if (c === '=') push('=', '=', 1);
    else if (c === '"') {
      m = /^"(?:[^"\\]|\\.)*"/.exec(rest);
      if (!m) throw new TemplateError('unterminated quoted string');
      push('str', JSON.parse(m[0]) as string, m[0].length);
    } else if (c === '`') {
      const end = rest.indexOf('`', 1);
      if (end < 0) throw new TemplateError('unterminated raw quoted string');
      push('str', rest.slice(1, end), end + 1);
    } else if ((m = /^\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*/.exec(rest))) push('var', m[0], m[0].length);
    else if ((m = /^(?:\.[A-Za-z0-9_]+)+|^\./.exec(rest))) push('field', m[0], m[0].length);
    else if ((m = /^-?\d+(?:\.\d+)?/.exec(rest))) push('num', m[0], m[0].length);
    else if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest))) push('ident', m[0], m[0].length);
    else throw new TemplateError(`unexpected ${JSON.stringify(c)} in command`);
  }
  return toks;
}

class ActionParser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  get done(): boolean {
    return this.i >= this.toks.length;
  }

  pipeline(stopAt: Tok['t'] | null = null): Pipeline {
    const decl: string[] = [];
    // `$x :=` or `$k, $v :=`
    const save = this.i;
    if (this.toks[this.i]?.t === 'var') {
      const names = [this.toks[this.i].v];
      let j = this.i + 1;
      if (this.toks[j]?.t === ',' && this.toks[j + 1]?.t === 'var') {
        names.push(this.toks[j + 1].v);
        j += 2;
      }
      if (this.toks[j]?.t === ':=' || this.toks[j]?.t === '=') {
        decl.push(...names);
        this.i = j + 1;
      } else this.i = save;
    }
    const cmds: Operand[][] = [];
    let cmd: Operand[] = [];
    while (!this.done && this.toks[this.i].t !== stopAt) {
      const tok = this.toks[this.i];
      if (tok.t === '|') {
        if (cmd.length === 0) throw new TemplateError('missing command before |');
        cmds.push(cmd);
        cmd = [];
        this.i++;
        continue;
      }
      cmd.push(this.operand());
    }
    if (cmd.length) cmds.push(cmd);
    else if (cmds.length) throw new TemplateError('missing command after |');
    return { decl, cmds };
  }

  private operand(): Operand {
    const tok = this.toks[this.i++];
    switch (tok.t) {
      case 'field':
        return { k: 'field', base: 'dot', path: tok.v === '.' ? [] : tok.v.slice(1).split('.') };
      case 'var': {
        const [name, ...path] = tok.v.split('.');
        return { k: 'field', base: { var: name }, path };
      }
      case 'str':
        return { k: 'lit', value: tok.v };
      case 'num':
        return { k: 'lit', value: Number(tok.v) };
      case 'ident':
        if (tok.v === 'true' || tok.v === 'false') return { k: 'lit', value: tok.v === 'true' };
        if (tok.v === 'nil') return { k: 'lit', value: null };
        return { k: 'ident', name: tok.v };
      case '(': {
        const p = this.pipeline(')');
        if (this.toks[this.i]?.t !== ')') throw new TemplateError('unclosed left paren');
        this.i++;
        const next = this.toks[this.i];
        if (next && next.t === 'field' && !next.sp && next.v !== '.') {
          this.i++;
          return { k: 'field', base: { expr: p }, path: next.v.slice(1).split('.') };
        }
        return { k: 'field', base: { expr: p }, path: [] };
      }
      default:
        throw new TemplateError(`unexpected ${JSON.stringify(tok.v)} in operand`);
    }
  }
}

/** Parses a template into a tree; throws TemplateError like Go's parse errors. */
export function parseTemplate(src: string): Node[] {
  // Split into text and {{actions}}, honouring trim markers.
  const parts: Array<{ text: string } | { action: string }> = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      parts.push({ text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    let start = open + 2;
    if (src.startsWith('- ', start) || (src[start] === '-' && /\s/.test(src[start + 1] ?? ''))) {
      text = text.replace(/\s+$/, '');
      start++;
    }
    if (text) parts.push({ text });
    const close = src.indexOf('}}', start);
    if (close < 0) throw new TemplateError('unclosed action');
    let body = src.slice(start, close);
    i = close + 2;
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1);
      const m = /^\s*/.exec(src.slice(i));
      i += m ? m[0].length : 0;
    }
    if (!/^\s*\/\*[\s\S]*\*\/\s*$/.test(body)) parts.push({ action: body.trim() });
  }

  let pos = 0;
  type ListEnd = { nodes: Node[]; end: 'end' | 'else' | 'eof' | 'elseif'; cond?: string };
  const parseList = (inBlock: boolean): ListEnd => {
    const nodes: Node[] = [];
    while (pos < parts.length) {
      const p = parts[pos++];
      if ('text' in p) {
        nodes.push({ k: 'text', s: p.text });
        continue;
      }
      const word = /^[a-z]+/.exec(p.action)?.[0] ?? '';
      if (word === 'end' || word === 'else') {
        if (!inBlock) throw new TemplateError(`unexpected {{${word}}}`);
        if (word === 'else' && p.action !== 'else') {
          const cond = p.action.slice(4).trim();
          if (!cond.startsWith('if ')) throw new TemplateError(`unexpected ${JSON.stringify(p.action)} in else`);
          return { nodes, end: 'elseif', cond: cond.slice(3) };
        }
        return { nodes, end: word };
      }
      if (word === 'if' || word === 'with' || word === 'range') {
        nodes.push(parseBlock(word, p.action.slice(word.length)));
        continue;
      }
      const pipe = new ActionParser(lexAction(p.action)).pipeline();
      if (pipe.cmds.length === 0) throw new TemplateError('missing value for command');
      nodes.push({ k: 'action', p: pipe });
    }
    return { nodes, end: 'eof' };
  };
  // Parses the body after {{if|with|range PIPE}} up to and including its {{end}}.
  const parseBlock = (word: 'if' | 'with' | 'range', pipeSrc: string): Node => {
    const pipe = new ActionParser(lexAction(pipeSrc)).pipeline();
    const body = parseList(true);
    let elseNodes: Node[] = [];
    if (body.end === 'else') {
      const e = parseList(true);
      if (e.end !== 'end') throw new TemplateError(`unexpected EOF in ${word}`);
      elseNodes = e.nodes;
    } else if (body.end === 'elseif') {
      elseNodes = [parseBlock('if', body.cond as string)]; // shares our {{end}}, which it consumes
    } else if (body.end !== 'end') throw new TemplateError(`unexpected EOF in ${word}`);
    if (word === 'range') return { k: 'range', p: pipe, body: body.nodes, else: elseNodes };
    return { k: word, p: pipe, then: body.nodes, else: elseNodes };
  };
  return parseList(false).nodes;
}

/** Go's fmt %v for JSON-shaped values. */
export function formatValue(v: Value): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(formatValue).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, Value>;
    if (typeof (o as { toString?: unknown }).toString === 'function' && o.toString !== Object.prototype.toString) return String(o);
    return `map[${Object.keys(o)
      .sort()
      .map((k) => `${k}:${formatValue(o[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}

/** Go's json.Marshal output (compact, HTML-escaped) for a JSON value. */
export function goJson(v: Value): string {
  return (JSON.stringify(v === undefined ? null : v) ?? 'null').replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function truthy(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

function sprintf(fmt: string, args: Value[]): string {
  let n = 0;
  return fmt.replace(/%([-0-9.]*)([svdqfgtx%])/g, (_m, w: string, verb: string) => {
    if (verb === '%') return '%';
    const a = args[n++];
    let s: string;
    switch (verb) {
      case 'q':
        s = JSON.stringify(formatValue(a));
        break;
      case 'd':
        s = String(Math.trunc(Number(a)));
        break;
      case 'f': {
        const prec = /\.(\d+)/.exec(w);
        s = Number(a).toFixed(prec ? Number(prec[1]) : 6);
        break;
      }
      case 'x':
        s = typeof a === 'number' ? a.toString(16) : Buffer.from(String(a)).toString('hex');
        break;
      default:
        s = formatValue(a);
    }
    const width = /^(-?)(\d+)/.exec(w);
    if (width) s = width[1] ? s.padEnd(Number(width[2])) : s.padStart(Number(width[2]));
    return s;
  });
}

const FUNCS: Record<string, (...args: Value[]) => Value> = {
  json: (v) => goJson(v),
  join: (list, sep) => (Array.isArray(list) ? list.map(formatValue).join(String(sep)) : formatValue(list)),
  split: (s, sep) => String(s).split(String(sep)),
  upper: (s) => formatValue(s).toUpperCase(),
  lower: (s) => formatValue(s).toLowerCase(),
  title: (s) => formatValue(s).replace(/(^|[^A-Za-z0-9_'])([a-z])/g, (_m, p: string, c: string) => p + c.toUpperCase()),
  len: (v) => (typeof v === 'string' || Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0),
  print: (...a) => a.map(formatValue).join(''),
  println: (...a) => a.map(formatValue).join(' ') + '\n',
  printf: (fmt, ...a) => sprintf(String(fmt), a),
  pad: (s, l, r) => ' '.repeat(Number(l)) + formatValue(s) + ' '.repeat(Number(r)),
  truncate: (s, n) => [...formatValue(s)].slice(0, Number(n)).join(''),
  eq: (a, ...b) => b.some((x) => x === a),
  ne: (a, b) => a !== b,
  not: (a) => !truthy(a),
  and: (...a) => a.find((x) => !truthy(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truthy(x)) ?? a[a.length - 1],
  index: (v, ...keys) => {
    let cur = v;
    for (const k of keys) {
      if (cur === null || cur === undefined) throw new TemplateError(`error calling index: index of untyped nil`);
      cur = (cur as Record<string, Value>)[k as string];
    }
    return cur;
  },
};

type Scope = Map<string, Value>;

function lookup(base: Value, path: string[], args: Value[] | null): Value {
  let cur = base;
  for (let i = 0; i < path.length; i++) {
    const name = path[i];
    if (cur === null || cur === undefined) return undefined;
    if (typeof cur !== 'object') throw new TemplateError(`can't evaluate field ${name} in type ${typeof cur}`);
    let next = (cur as Record<string, Value>)[name];
    if (next === undefined && !Array.isArray(cur) && !(name in (cur as object))) {
      // docker executes templates on Go structs whose field names can differ in case from the JSON keys
      // (ID vs "Id", APIVersion vs "ApiVersion"); both spellings work there, so accept either here.
      const lower = name.toLowerCase();
      const key = Object.keys(cur as object).find((k) => k.toLowerCase() === lower);
      if (key !== undefined) next = (cur as Record<string, Value>)[key];
    }
    if (typeof next === 'function') {
      const callArgs = i === path.length - 1 && args ? args : [];
      cur = (next as (...a: Value[]) => Value).apply(cur, callArgs);
      if (i === path.length - 1) return cur;
    } else cur = next;
  }
  if (args && args.length) throw new TemplateError(`can't give argument to non-function ${path.join('.')}`);
  return cur;
}

function evalOperand(op: Operand, dot: Value, scope: Scope, args: Value[] | null): Value {
  switch (op.k) {
    case 'lit':
      return op.value;
    case 'ident': {
      const f = FUNCS[op.name];
      if (!f) throw new TemplateError(`function "${op.name}" not defined`);
      return f(...(args ?? []));
    }
    case 'field': {
      let base: Value;
      if (op.base === 'dot') base = dot;
      else if ('var' in op.base) {
        if (!scope.has(op.base.var)) throw new TemplateError(`undefined variable "${op.base.var}"`);
        base = scope.get(op.base.var);
      } else base = evalPipeline(op.base.expr, dot, scope);
      return lookup(base, op.path, args);
    }
  }
}

function evalPipeline(p: Pipeline, dot: Value, scope: Scope): Value {
  let piped: Value = undefined;
  let havePiped = false;
  for (const cmd of p.cmds) {
    const [head, ...rest] = cmd;
    const args = rest.map((o) => evalOperand(o, dot, scope, null));
    if (havePiped) args.push(piped);
    if (head.k === 'lit' && args.length) throw new TemplateError(`can't give argument to non-function ${formatValue(head.value)}`);
    piped = evalOperand(head, dot, scope, args);
    havePiped = true;
  }
  if (p.decl.length === 1) scope.set(p.decl[0], piped);
  return piped;
}

function execNodes(nodes: Node[], dot: Value, scope: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.k) {
      case 'text':
        out.push(n.s);
        break;
      case 'action': {
        const v = evalPipeline(n.p, dot, scope);
        if (n.p.decl.length === 0) out.push(formatValue(v));
        break;
      }
      case 'if':
      case 'with': {
        const v = evalPipeline({ decl: [], cmds: n.p.cmds }, dot, scope);
        if (n.p.decl.length === 1) scope.set(n.p.decl[0], v);
        if (truthy(v)) execNodes(n.then, n.k === 'with' ? v : dot, scope, out);
        else execNodes(n.else, dot, scope, out);
        break;
      }
      case 'range': {
        const v = evalPipeline({ decl: [], cmds: n.p.cmds }, dot, scope);
        let entries: Array<[Value, Value]> = [];
        if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
        else if (v && typeof v === 'object') entries = Object.keys(v).sort().map((k) => [k, (v as Record<string, Value>)[k]]);
        else if (typeof v === 'number') entries = Array.from({ length: v }, (_x, i) => [i, i]);
        else if (v !== null && v !== undefined) throw new TemplateError(`range can't iterate over ${formatValue(v)}`);
        if (entries.length === 0) {
          execNodes(n.else, dot, scope, out);
          break;
        }
        for (const [k, x] of entries) {
          if (n.p.decl.length === 1) scope.set(n.p.decl[0], x);
          if (n.p.decl.length === 2) {
            scope.set(n.p.decl[0], k);
            scope.set(n.p.decl[1], x);
          }
          execNodes(n.body, x, scope, out);
        }
        break;
      }
    }
  }
}

export interface Template {
  execute(dot: Value): string;
}

/** Compiles once; execute per object (like docker's formatter, one row at a time). */
export function compileTemplate(src: string): Template {
  const nodes = parseTemplate(src);
  return {
    execute(dot: Value): string {
      const out: string[] = [];
      execNodes(nodes, dot, new Map([['$', dot]]), out);
      return out.join('');
    },
  };
}
