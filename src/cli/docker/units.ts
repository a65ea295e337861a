/**
 * Number and time formats the docker CLI uses, ported from docker/go-units and Go's fmt/time so skiff's
 * output and error messages read the same: RAMInBytes ("512m", "1g"), HumanSize ("4.26MB"), BytesSize
 * ("1.5MiB"), HumanDuration ("About a minute"), Go durations ("1m30s") and docker's --cpus rationals.
 * Pure.
 */

const KiB = 1024;
const RAM_UNITS: Record<string, number> = { k: KiB, m: KiB ** 2, g: KiB ** 3, t: KiB ** 4, p: KiB ** 5 };
const DECIMAL_UNITS: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

/** Go's strconv.ParseFloat for the plain decimal forms the CLI sees. */
function parseFloatGo(num: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(num)) {
    throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax`);
  }
  return Number(num);
}

/** go-units parseSize: a number, an optional space, then b | k|m|g|t|p [b|ib] in any case. */
function parseSize(sizeStr: string, units: Record<string, number>): number {
  let sep = -1;
  for (let i = sizeStr.length - 1; i >= 0; i--) {
    if ('0123456789. '.includes(sizeStr[i])) {
      sep = i;
      break;
    }
  }
  if (sep === -1) throw new Error(`invalid size: '${sizeStr}'`);
  const num = sizeStr[sep] !== ' ' ? sizeStr.slice(0, sep + 1) : sizeStr.slice(0, sep);
  let sfx = sizeStr.slice(sep + 1);
  let size = parseFloatGo(num);
  if (size < 0) throw new Error(`invalid size: '${sizeStr}'`);
  if (sfx.length === 0) return Math.trunc(size);
  const bad = () => new Error(`invalid suffix: '${sfx}'`);
  if (sfx.length > 3) throw bad();
  sfx = sfx.toLowerCase();
  if (sfx[0] === 'b') {
    if (sfx.length > 1) throw bad();
    return Math.trunc(size);
  }
  const mul = units[sfx[0]];
  if (mul === undefined) throw bad();
  size *= mul;
  if ((sfx.length === 2 && sfx[1] !== 'b') || (sfx.length === 3 && sfx.slice(1) !== 'ib')) throw bad();
  return Math.trunc(size);
}

/** go-units RAMInBytes: binary multiples ("512m" = 512 MiB). Throws with go-units' message. */
export function ramInBytes(s: string): number {
  return parseSize(s, RAM_UNITS);
}

/** go-units FromHumanSize: decimal multiples ("1k" = 1000). */
export function fromHumanSize(s: string): number {
  return parseSize(s, DECIMAL_UNITS);
}

/** Go's fmt %.{p}g: shortest of %e/%f at p significant digits, trailing zeros removed. */
export function formatG(x: number, p: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : x < 0 ? '-Inf' : 'NaN';
  const exp = Number(x.toExponential(p - 1).split('e')[1]);
  if (exp < -4 || exp >= p) {
    let [mant, e] = x.toExponential(p - 1).split('e');
    if (mant.includes('.')) mant = mant.replace(/\.?0+$/, '');
    const en = Number(e);
    return `${mant}e${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(2, '0')}`;
  }
  let s = x.toFixed(Math.max(0, p - 1 - exp));
  if (s.includes('.')) s = s.replace(/\.?0+$/, '');
  return s;
}

function customSize(size: number, precision: number, base: number, abbrs: string[]): string {
  let i = 0;
  while (size >= base && i < abbrs.length - 1) {
    size /= base;
    i++;
  }
  return `${formatG(size, precision)}${abbrs[i]}`;
}

/** go-units HumanSizeWithPrecision: "4.26MB" at 3 digits — `docker images` SIZE; HumanSize is precision 4. */
export function humanSize(bytes: number, precision = 3): string {
  return customSize(bytes, precision, 1000, ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB']);
}

/** go-units BytesSize: "1.5MiB" — `docker stats` memory. */
export function bytesSize(bytes: number): string {
  return customSize(bytes, 4, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB']);
}

/** go-units HumanDuration: "Less than a second", "About a minute", "3 hours", "2 weeks"... */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  const minutes = Math.trunc(ms / 60000);
  const hours = Math.trunc(ms / 3600000 + 0.5);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3600000 / 24 / 365)} years`;
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds ("1m30s", "500ms", "-1.5h", "0"). */
export function parseGoDuration(s: string): number {
  const bad = () => new Error(`time: invalid duration ${JSON.stringify(s)}`);
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw bad();
  let total = 0;
  const re = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (rest.length > 0) {
    const m = re.exec(rest);
    if (!m) {
      if (/^(\d+\.?\d*|\.\d+)$/.test(rest)) throw new Error(`time: missing unit in duration ${JSON.stringify(s)}`);
      throw bad();
    }
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    rest = rest.slice(m[0].length);
  }
  return sign * Math.round(total);
}

/** docker's NanoCPUs flag: a rational number of CPUs → integer nanoCPUs ("1.5" → 1500000000). */
export function parseNanoCpus(value: string): number {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(value);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`failed to parse ${value} as a rational number`);
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length > 9) throw new Error('value is too precise');
  const nano = Number(m[2] || '0') * 1e9 + Number(frac.padEnd(9, '0') || '0');
  return m[1] === '-' ? -nano : nano;
}

/**
 * docker's timetypes.GetTimestamp for --since/--until: a Go duration ("10m", relative to now), an RFC 3339
 * date/time, or a unix timestamp ("1700000000.5"). Returns the API's "seconds.nanoseconds" string.
 */
export function apiTimestamp(value: string, nowMs: number = Date.now(), flag?: string): string {
  try {
    return toApiTimestamp(value, nowMs);
  } catch (e) {
    throw flag ? new Error(`invalid value for "${flag}": ${(e as Error).message}`) : e;
  }
}

function toApiTimestamp(value: string, nowMs: number): string {
  if (/^\d+(\.\d+)?$/.test(value)) {
    // Already unix seconds (with optional fraction): docker passes these through.
    const [s, f] = value.split('.');
    return f === undefined ? s : `${s}.${f.padEnd(9, '0').slice(0, 9)}`;
  }
  let ms: number;
  try {
    ms = nowMs - parseGoDuration(value) / 1e6;
  } catch {
    const parsed = Date.parse(/T|\s/.test(value) || /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : NaN as unknown as string);
    if (Number.isNaN(parsed)) throw new Error(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
    ms = parsed;
  }
  const sec = Math.floor(ms / 1000);
  const nanos = Math.round((ms - sec * 1000) * 1e6);
  return `${sec}.${String(nanos).padStart(9, '0')}`;
}
