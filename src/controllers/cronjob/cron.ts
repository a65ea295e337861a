/**
 * Standard 5-field cron schedules as CronJob uses them (robfig/cron's standard parser): minute hour
 * day-of-month month day-of-week, with `*`, lists, ranges, steps (`*\/5`, `1-10/2`), month and weekday names,
 * `?` as `*`, and the descriptors @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly. Day-of-month
 * and day-of-week are ORed when both are restricted (as in Vixie cron). Times are UTC unless a
 * `CRON_TZ=`/`TZ=` prefix or timeZone names UTC (other zones are refused rather than silently wrong).
 */
export interface CronSchedule {
  minute: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  month: Set<number>;
  dow: Set<number>;
  domStar: boolean;
  dowStar: boolean;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

function parseField(field: string, min: number, max: number, names?: string[], nameBase = 0): { set: Set<number>; star: boolean } {
  const set = new Set<number>();
  let star = false;
  const value = (s: string): number => {
    const lower = s.toLowerCase();
    if (names) {
      const i = names.indexOf(lower);
      if (i >= 0) return i + nameBase;
    }
    if (!/^\d+$/.test(s)) throw new Error(`failed to parse int from ${s}: strconv.Atoi: parsing "${s}": invalid syntax`);
    return Number(s);
  };
  for (const part of field.split(',')) {
    const [rangePart, stepPart, extra] = part.split('/');
    if (extra !== undefined) throw new Error(`too many slashes: ${part}`);
    let lo: number;
    let hi: number;
    if (rangePart === '*' || rangePart === '?') {
      lo = min;
      hi = max;
      if (stepPart === undefined) star = true;
    } else {
      const [a, b, more] = rangePart.split('-');
      if (more !== undefined) throw new Error(`too many hyphens: ${rangePart}`);
      lo = value(a);
      hi = b !== undefined ? value(b) : stepPart !== undefined ? max : lo;
    }
    const step = stepPart !== undefined ? Number(stepPart) : 1;
    if (!Number.isInteger(step) || step <= 0 || (stepPart !== undefined && !/^\d+$/.test(stepPart))) throw new Error(`invalid step: ${part}`);
    if (lo < min) throw new Error(`beginning of range (${lo}) below minimum (${min}): ${part}`);
    if (hi > max) throw new Error(`end of range (${hi}) above maximum (${max}): ${part}`);
    if (lo > hi) throw new Error(`beginning of range (${lo}) beyond end of range (${hi}): ${part}`);
    for (let v = lo; v <= hi; v += step) set.add(v);
  }
  return { set, star };
}

export function parseCron(spec: string, timeZone?: string | null): CronSchedule {
  let s = spec.trim();
  const tz = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(s);
  if (tz) s = tz[2];
  const zone = tz?.[1] ?? timeZone ?? 'UTC';
  if (!['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT'].includes(zone)) throw new Error(`unsupported time zone "${zone}" (skiff evaluates schedules in UTC)`);
  if (s.startsWith('@')) {
    const d = DESCRIPTORS[s.toLowerCase()];
    if (!d) throw new Error(`unrecognized descriptor: ${s}`);
    s = d;
  }
  const fields = s.split(/\s+/);
  if (fields.length !== 5) throw new Error(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  const minute = parseField(fields[0], 0, 59);
  const hour = parseField(fields[1], 0, 23);
  const dom = parseField(fields[2], 1, 31);
  const month = parseField(fields[3], 1, 12, MONTHS, 1);
  const dowRaw = parseField(fields[4], 0, 7, DAYS, 0);
  const dow = new Set([...dowRaw.set].map((d) => (d === 7 ? 0 : d)));
  return { minute: minute.set, hour: hour.set, dom: dom.set, month: month.set, dow, domStar: dom.star, dowStar: dowRaw.star };
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  const domOk = s.dom.has(d.getUTCDate());
  const dowOk = s.dow.has(d.getUTCDay());
  if (s.domStar || s.dowStar) return domOk && dowOk;
  return domOk || dowOk;
}

/** The first scheduled time strictly after `afterMs` (minute resolution), or undefined within 5 years. */
export function nextAfter(s: CronSchedule, afterMs: number): number | undefined {
  const d = new Date(Math.floor(afterMs / 60_000) * 60_000 + 60_000);
  const limit = afterMs + 5 * 366 * 86_400_000;
  while (d.getTime() <= limit) {
    if (!s.month.has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!dayMatches(s, d)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!s.hour.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!s.minute.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    return d.getTime();
  }
  return undefined;
}

/**
 * Upstream's getMostRecentScheduleTime: the latest schedule time in (earliest, now], how many were missed,
 * and the next one after now.
 */
export function mostRecent(s: CronSchedule, earliestMs: number, nowMs: number): { last?: number; missed: number; next?: number } {
  let t = nextAfter(s, earliestMs);
  let last: number | undefined;
  let missed = 0;
  while (t !== undefined && t <= nowMs) {
    last = t;
    missed++;
    if (missed > 1000) {
      // upstream caps the search too ("too many missed start times"); jump close to now.
      const again = nextAfter(s, nowMs - 60_000 * 60 * 24);
      t = again !== undefined && again > t ? again : nextAfter(s, t);
      continue;
    }
    t = nextAfter(s, t);
  }
  return { last, missed, next: t };
}
