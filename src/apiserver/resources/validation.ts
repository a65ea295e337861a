/**
 * Upstream's generic validation rules (apimachinery util/validation and api/validation ObjectMeta) with its
 * exact messages, producing FieldCauses as Kubernetes' field.Error does: reason + "Invalid value: ...: detail".
 */
import type { FieldCause } from '../../common/errors';
import { QUANTITY_REGEXP, tryParseQuantity, quantitySign } from './quantity';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Go's %q / %v-ish rendering of a value as field.Error does. */
export function renderValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export const causes = {
  invalid: (field: string, value: unknown, detail: string): FieldCause => ({
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${renderValue(value)}: ${detail}`,
    field,
  }),
  required: (field: string, detail = ''): FieldCause => ({
    reason: 'FieldValueRequired',
    message: detail ? `Required value: ${detail}` : 'Required value',
    field,
  }),
  notSupported: (field: string, value: unknown, supported: string[]): FieldCause => ({
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: ${renderValue(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
    field,
  }),
  duplicate: (field: string, value: unknown): FieldCause => ({
    reason: 'FieldValueDuplicate',
    message: `Duplicate value: ${renderValue(value)}`,
    field,
  }),
  forbidden: (field: string, detail: string): FieldCause => ({
    reason: 'FieldValueForbidden',
    message: `Forbidden: ${detail}`,
    field,
  }),
  notFound: (field: string, value: unknown): FieldCause => ({
    reason: 'FieldValueNotFound',
    message: `Not found: ${renderValue(value)}`,
    field,
  }),
  tooLong: (field: string, max: number): FieldCause => ({
    reason: 'FieldValueTooLong',
    message: `Too long: must have at most ${max} bytes`,
    field,
  }),
};

// --- names ----------------------------------------------------------------------------------------

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const DNS1035_LABEL = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE = `(${QUALIFIED_NAME})?`;
const C_IDENTIFIER_ENV = '[-._a-zA-Z][-._a-zA-Z0-9]*';

const full = (re: string) => new RegExp(`^(?:${re})$`);
const RE_DNS1123_LABEL = full(DNS1123_LABEL);
const RE_DNS1123_SUBDOMAIN = full(DNS1123_SUBDOMAIN);
const RE_DNS1035_LABEL = full(DNS1035_LABEL);
const RE_QUALIFIED_NAME = full(QUALIFIED_NAME);
const RE_LABEL_VALUE = full(LABEL_VALUE);
const RE_ENV_NAME = full(C_IDENTIFIER_ENV);

const maxLen = (n: number) => `must be no more than ${n} characters`;

export function isDNS1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLen(63));
  if (!RE_DNS1123_LABEL.test(value))
    errs.push(
      `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '${DNS1123_LABEL}')`,
    );
  return errs;
}

export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLen(253));
  if (!RE_DNS1123_SUBDOMAIN.test(value))
    errs.push(
      `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${DNS1123_SUBDOMAIN}')`,
    );
  return errs;
}

export function isDNS1035Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLen(63));
  if (!RE_DNS1035_LABEL.test(value))
    errs.push(
      `a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '${DNS1035_LABEL}')`,
    );
  return errs;
}

/** Label and annotation keys: [prefix/]name. */
export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) {
    const [prefix] = parts;
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const m of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${m}`);
  } else {
    return [
      `a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${QUALIFIED_NAME}') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLen(63)}`);
  if (name.length > 0 && !RE_QUALIFIED_NAME.test(name))
    errs.push(
      `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${QUALIFIED_NAME}')`,
    );
  return errs;
}

export function isValidLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLen(63));
  if (!RE_LABEL_VALUE.test(value))
    errs.push(
      `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '${LABEL_VALUE}')`,
    );
  return errs;
}

export function isEnvVarName(value: string): string[] {
  const errs: string[] = [];
  if (!RE_ENV_NAME.test(value))
    errs.push(
      `a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '${C_IDENTIFIER_ENV}')`,
    );
  if (value === '.') errs.push("must not be '.'");
  else if (value === '..') errs.push("must not be '..'");
  else if (value.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

/** IANA_SVC_NAME: port names. */
export function isValidPortName(port: string): string[] {
  const errs: string[] = [];
  if (port.length > 15) errs.push(maxLen(15));
  if (!/^[-a-z0-9]+$/.test(port)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(port)) errs.push('must contain at least one letter (a-z)');
  if (port.includes('--')) errs.push('must not contain consecutive hyphens');
  if (port.length > 0 && (port.startsWith('-') || port.endsWith('-'))) errs.push('must not begin or end with a hyphen');
  return errs;
}

export function isValidPortNum(port: unknown): string[] {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535
    ? []
    : ['must be between 1 and 65535, inclusive'];
}

export type NameValidator = (name: string) => string[];

// --- metadata -------------------------------------------------------------------------------------

const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateLabels(labels: unknown, field: string): FieldCause[] {
  const out: FieldCause[] = [];
  if (labels === undefined || labels === null) return out;
  if (typeof labels !== 'object' || Array.isArray(labels)) return [causes.invalid(field, labels, 'must be a map of strings')];
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    for (const m of isQualifiedName(k)) out.push(causes.invalid(field, k, m));
    if (typeof v !== 'string') out.push(causes.invalid(field, v, 'must be a string'));
    else for (const m of isValidLabelValue(v)) out.push(causes.invalid(field, v, m));
  }
  return out;
}

export function validateAnnotations(annotations: unknown, field: string): FieldCause[] {
  const out: FieldCause[] = [];
  if (annotations === undefined || annotations === null) return out;
  if (typeof annotations !== 'object' || Array.isArray(annotations))
    return [causes.invalid(field, annotations, 'must be a map of strings')];
  let size = 0;
  for (const [k, v] of Object.entries(annotations as Record<string, unknown>)) {
    for (const m of isQualifiedName(k.toLowerCase())) out.push(causes.invalid(field, k, m));
    size += k.length + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) out.push(causes.tooLong(field, TOTAL_ANNOTATION_SIZE_LIMIT));
  return out;
}

/**
 * ObjectMeta of a top-level object: name (per kind's rule), generateName prefix, labels, annotations,
 * ownerReferences, finalizers. Namespace placement is the machinery's.
 */
export function validateObjectMeta(meta: Any, nameFn: NameValidator, field = 'metadata'): FieldCause[] {
  const out: FieldCause[] = [];
  if (!meta || typeof meta !== 'object') return [causes.required(field)];
  if (meta.generateName !== undefined && meta.generateName !== '') {
    // upstream validates the prefix without its trailing dash-ness: strip a final '-' before checking
    const prefix = String(meta.generateName).replace(/-$/, '');
    if (prefix && !meta.name) for (const m of nameFn(prefix)) out.push(causes.invalid(`${field}.generateName`, meta.generateName, m));
  }
  if (!meta.name) {
    if (!meta.generateName) out.push(causes.required(`${field}.name`, 'name or generateName is required'));
  } else if (typeof meta.name !== 'string') {
    out.push(causes.invalid(`${field}.name`, meta.name, 'must be a string'));
  } else {
    for (const m of nameFn(meta.name)) out.push(causes.invalid(`${field}.name`, meta.name, m));
  }
  if (typeof meta.generation === 'number' && meta.generation < 0)
    out.push(causes.invalid(`${field}.generation`, meta.generation, 'must be greater than or equal to 0'));
  out.push(...validateLabels(meta.labels, `${field}.labels`));
  out.push(...validateAnnotations(meta.annotations, `${field}.annotations`));
  if (Array.isArray(meta.ownerReferences)) {
    meta.ownerReferences.forEach((r: Any, i: number) => {
      const f = `${field}.ownerReferences[${i}]`;
      if (!r?.apiVersion) out.push(causes.invalid(`${f}.apiVersion`, r?.apiVersion ?? '', 'version must not be empty'));
      if (!r?.kind) out.push(causes.invalid(`${f}.kind`, r?.kind ?? '', 'kind must not be empty'));
      if (!r?.name) out.push(causes.invalid(`${f}.name`, r?.name ?? '', 'name must not be empty'));
      if (!r?.uid) out.push(causes.invalid(`${f}.uid`, r?.uid ?? '', 'uid must not be empty'));
    });
    const controllers = meta.ownerReferences.filter((r: Any) => r?.controller === true);
    if (controllers.length > 1)
      out.push(causes.invalid(`${field}.ownerReferences`, meta.ownerReferences, 'Only one reference can have Controller set to true'));
  }
  if (Array.isArray(meta.finalizers)) {
    for (const f of meta.finalizers) {
      for (const m of isQualifiedName(String(f))) out.push(causes.invalid(`${field}.finalizers`, f, m));
    }
  }
  return out;
}

/** Labels/annotations only (pod templates' metadata). */
export function validateTemplateMeta(meta: Any, field: string): FieldCause[] {
  if (!meta) return [];
  return [...validateLabels(meta.labels, `${field}.labels`), ...validateAnnotations(meta.annotations, `${field}.annotations`)];
}

export function validateNonNegative(value: unknown, field: string): FieldCause[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'number' || !Number.isInteger(value)) return [causes.invalid(field, value, 'must be an integer')];
  return value < 0 ? [causes.invalid(field, value, 'must be greater than or equal to 0')] : [];
}

export function validatePositive(value: unknown, field: string): FieldCause[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'number' || !Number.isInteger(value)) return [causes.invalid(field, value, 'must be an integer')];
  return value <= 0 ? [causes.invalid(field, value, 'must be greater than 0')] : [];
}

export function validateQuantity(value: unknown, field: string, nonNegative = true): FieldCause[] {
  const q = typeof value === 'string' ? tryParseQuantity(value) : typeof value === 'number' ? tryParseQuantity(String(value)) : undefined;
  if (!q) return [causes.invalid(field, value, `quantities must match the regular expression '${QUANTITY_REGEXP}'`)];
  if (nonNegative && quantitySign(q) < 0) return [causes.invalid(field, value, 'must be greater than or equal to 0')];
  return [];
}

/** Label selector (metav1.LabelSelector) structure. */
export function validateLabelSelector(sel: Any, field: string): FieldCause[] {
  const out: FieldCause[] = [];
  if (!sel) return out;
  out.push(...validateLabels(sel.matchLabels, `${field}.matchLabels`));
  (Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []).forEach((e: Any, i: number) => {
    const f = `${field}.matchExpressions[${i}]`;
    const op = e?.operator;
    if (op === 'In' || op === 'NotIn') {
      if (!Array.isArray(e.values) || e.values.length === 0)
        out.push(causes.required(`${f}.values`, 'must be specified when `operator` is \'In\' or \'NotIn\''));
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (Array.isArray(e.values) && e.values.length > 0)
        out.push(causes.forbidden(`${f}.values`, 'may not be specified when `operator` is \'Exists\' or \'DoesNotExist\''));
    } else {
      out.push(causes.invalid(`${f}.operator`, op, 'not a valid selector operator'));
    }
    for (const m of isQualifiedName(String(e?.key ?? ''))) out.push(causes.invalid(`${f}.key`, e?.key, m));
  });
  return out;
}

export function oneOf(value: unknown, allowed: string[], field: string, required = false): FieldCause[] {
  if (value === undefined || value === null || value === '') return required ? [causes.required(field)] : [];
  return allowed.includes(value as string) ? [] : [causes.notSupported(field, value, allowed)];
}

/** Immutable field check on update. */
export function immutable(newV: unknown, oldV: unknown, field: string): FieldCause[] {
  return JSON.stringify(newV ?? null) === JSON.stringify(oldV ?? null) ? [] : [causes.invalid(field, newV, 'field is immutable')];
}
