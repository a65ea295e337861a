/** Docker-style generated names ("adjective_surname") and the name rules. */
import crypto from 'node:crypto';
import { invalid } from '../../common/errors';

const LEFT = ['admiring', 'brave', 'clever', 'dreamy', 'eager', 'focused', 'gallant', 'happy', 'jolly', 'keen', 'lucid', 'modest', 'nifty', 'optimistic', 'peaceful', 'quirky', 'relaxed', 'serene', 'tender', 'upbeat', 'vibrant', 'wizardly', 'youthful', 'zealous'];
const RIGHT = ['archimedes', 'babbage', 'curie', 'darwin', 'euclid', 'fermat', 'galileo', 'hopper', 'noether', 'kepler', 'lovelace', 'turing', 'meitner', 'newton', 'pascal', 'ramanujan', 'shannon', 'tesla', 'volta', 'wright', 'yalow', 'ritchie', 'thompson', 'knuth'];

export function generateName(taken: (name: string) => boolean): string {
  for (let i = 0; i < 100; i++) {
    const name = `${LEFT[crypto.randomInt(LEFT.length)]}_${RIGHT[crypto.randomInt(RIGHT.length)]}${i > 10 ? crypto.randomInt(100) : ''}`;
    if (!taken(name)) return name;
  }
  return `c_${crypto.randomBytes(6).toString('hex')}`;
}

/** Docker's name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a leading "/" is accepted and dropped). */
export function validateName(raw: string): string {
  const name = raw.startsWith('/') ? raw.slice(1) : raw;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name))
    throw invalid(`Invalid container name (${raw}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name;
}

export function newId(): string {
  return crypto.randomBytes(32).toString('hex');
}
