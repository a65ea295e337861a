/** apps/v1 (deployments, replicasets, daemonsets, statefulsets) and batch/v1 (jobs, cronjobs). */
import type { FieldCause } from '../../common/errors';
import type { ResourceInfo } from '../resource';
import { defaultPodTemplate, validatePodTemplate } from './podspec';
import { col, table, templateColumns } from './tables';
import { clone, deepEqual, humanDuration, setDefault, since } from './util';
import { formatLabels, selectorMatches } from './labels';
import { causes, immutable, isDNS1123Subdomain, oneOf, validateLabelSelector, validateNonNegative, validateObjectMeta } from './validation';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const VERBS: ResourceInfo['verbs'] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

// --- shared rules ---------------------------------------------------------------------------------

const PERCENT = /^[0-9]+%$/;

/** IntOrString that must be a non-negative int or a percent (maxSurge/maxUnavailable). */
function validateIntOrPercent(v: unknown, field: string): FieldCause[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'number') return validateNonNegative(v, field);
  if (typeof v === 'string') {
    if (!PERCENT.test(v))
      return [
        causes.invalid(
          field,
          v,
          "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        ),
      ];
    return [];
  }
  return [causes.invalid(field, v, 'must be an integer or percentage (e.g \'5%\')')];
}

function isZeroIntOrPercent(v: unknown): boolean {
  return v === 0 || v === '0%';
}

function percentOver100(v: unknown, field: string): FieldCause[] {
  return typeof v === 'string' && PERCENT.test(v) && Number(v.slice(0, -1)) > 100 ? [causes.invalid(field, v, 'must not be greater than 100%')] : [];
}

/** Selector required, non-empty, matching the template's labels; immutable on update (apps/v1). */
function validateSelectorAndTemplate(o: Any, old: Any | undefined, kindWord: string, templatePath = 'spec.template', selectorPath = 'spec.selector'): FieldCause[] {
  const out: FieldCause[] = [];
  const sel = o.spec?.selector;
  if (!sel) out.push(causes.required(selectorPath));
  else {
    out.push(...validateLabelSelector(sel, selectorPath));
    const empty = Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
    if (empty) out.push(causes.invalid(selectorPath, sel, `empty selector is invalid for ${kindWord}`));
    else {
      const labels = o.spec?.template?.metadata?.labels;
      if (!selectorMatches(sel, labels)) out.push(causes.invalid(`${templatePath}.metadata.labels`, labels ?? {}, '`selector` does not match template `labels`'));
    }
  }
  if (old && old.spec?.selector && !deepEqual(sel, old.spec.selector)) out.push(causes.invalid(selectorPath, sel, 'field is immutable'));
  return out;
}

const workloadNameCheck = isDNS1123Subdomain;

// --- deployments ----------------------------------------------------------------------------------

function deploymentReady(o: Any): string {
  return `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`;
}

export const deployments: ResourceInfo = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  singular: 'deployment',
  namespaced: true,
  shortNames: ['deploy'],
  categories: ['all'],
  verbs: VERBS,
  subresources: ['status', 'scale'],
  hasStatus: true,
  tracksGeneration: true,
  schemaName: 'io.k8s.api.apps.v1.Deployment',
  defaults(o: Any) {
    const spec = (o.spec ??= {});
    setDefault(spec, 'replicas', 1);
    const strategy = (spec.strategy ??= {});
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy.type === 'RollingUpdate') {
      strategy.rollingUpdate ??= {};
      setDefault(strategy.rollingUpdate, 'maxUnavailable', '25%');
      setDefault(strategy.rollingUpdate, 'maxSurge', '25%');
    }
    setDefault(spec, 'revisionHistoryLimit', 10);
    setDefault(spec, 'progressDeadlineSeconds', 600);
    defaultPodTemplate(spec.template);
  },
  validate(o: Any, old?: Any) {
    const out = validateObjectMeta(o.metadata, workloadNameCheck);
    const spec = o.spec ?? {};
    out.push(...validateNonNegative(spec.replicas, 'spec.replicas'));
    out.push(...validateSelectorAndTemplate(o, old, 'deployment'));
    out.push(...validatePodTemplate(spec.template, 'spec.template', { restartPolicies: ['Always'] }));
    const st = spec.strategy ?? {};
    out.push(...oneOf(st.type, ['Recreate', 'RollingUpdate'], 'spec.strategy.type', true));
    if (st.type === 'Recreate' && st.rollingUpdate)
      out.push(causes.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
    if (st.type === 'RollingUpdate' && st.rollingUpdate) {
      const ru = st.rollingUpdate;
      out.push(...validateIntOrPercent(ru.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable'));
      out.push(...validateIntOrPercent(ru.maxSurge, 'spec.strategy.rollingUpdate.maxSurge'));
      out.push(...percentOver100(ru.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable'));
      if (isZeroIntOrPercent(ru.maxUnavailable) && isZeroIntOrPercent(ru.maxSurge))
        out.push(causes.invalid('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
    }
    out.push(...validateNonNegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
    out.push(...validateNonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
    if (spec.progressDeadlineSeconds !== undefined && spec.progressDeadlineSeconds !== null) {
      out.push(...validateNonNegative(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds'));
      if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0))
        out.push(causes.invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
    }
    return out;
  },
  table: table([
    { col: col('Ready', 'string', 'Number of the pod with ready state'), cell: deploymentReady },
    { col: col('Up-to-date', 'string', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'), cell: (o) => o.status?.updatedReplicas ?? 0 },
    { col: col('Available', 'string', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'), cell: (o) => o.status?.availableReplicas ?? 0 },
    ...templateColumns((o) => o.spec, 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.'),
  ]),
};

// --- replicasets ----------------------------------------------------------------------------------

export const replicasets: ResourceInfo = {
  ...deployments,
  kind: 'ReplicaSet',
  plural: 'replicasets',
  singular: 'replicaset',
  shortNames: ['rs'],
  schemaName: 'io.k8s.api.apps.v1.ReplicaSet',
  defaults(o: Any) {
    const spec = (o.spec ??= {});
    setDefault(spec, 'replicas', 1);
    defaultPodTemplate(spec.template);
  },
  validate(o: Any, old?: Any) {
    const out = validateObjectMeta(o.metadata, workloadNameCheck);
    const spec = o.spec ?? {};
    out.push(...validateNonNegative(spec.replicas, 'spec.replicas'));
    out.push(...validateNonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
    out.push(...validateSelectorAndTemplate(o, old, 'replicaset'));
    out.push(...validatePodTemplate(spec.template, 'spec.template', { restartPolicies: ['Always'] }));
    return out;
  },
  table: table([
    { col: col('Desired', 'integer', 'Replicas is the number of desired pods.'), cell: (o) => o.spec?.replicas ?? 0 },
    { col: col('Current', 'integer', 'Replicas is the most recently observed number of replicas.'), cell: (o) => o.status?.replicas ?? 0 },
    { col: col('Ready', 'integer', 'The number of ready replicas for this replica set.'), cell: (o) => o.status?.readyReplicas ?? 0 },
    ...templateColumns((o) => o.spec, 'Selector is a label query over pods that should match the replica count.'),
  ]),
};

// --- daemonsets -----------------------------------------------------------------------------------

export const daemonsets: ResourceInfo = {
  ...deployments,
  kind: 'DaemonSet',
  plural: 'daemonsets',
  singular: 'daemonset',
  shortNames: ['ds'],
  subresources: ['status'],
  schemaName: 'io.k8s.api.apps.v1.DaemonSet',
  defaults(o: Any) {
    const spec = (o.spec ??= {});
    const us = (spec.updateStrategy ??= {});
    setDefault(us, 'type', 'RollingUpdate');
    if (us.type === 'RollingUpdate') {
      us.rollingUpdate ??= {};
      setDefault(us.rollingUpdate, 'maxUnavailable', 1);
      setDefault(us.rollingUpdate, 'maxSurge', 0);
    }
    setDefault(spec, 'revisionHistoryLimit', 10);
    defaultPodTemplate(spec.template);
  },
  validate(o: Any, old?: Any) {
    const out = validateObjectMeta(o.metadata, workloadNameCheck);
    const spec = o.spec ?? {};
    out.push(...validateSelectorAndTemplate(o, old, 'daemonset'));
    out.push(...validatePodTemplate(spec.template, 'spec.template', { restartPolicies: ['Always'] }));
    const us = spec.updateStrategy ?? {};
    out.push(...oneOf(us.type, ['OnDelete', 'RollingUpdate'], 'spec.updateStrategy.type', true));
    if (us.type === 'RollingUpdate' && us.rollingUpdate) {
      out.push(...validateIntOrPercent(us.rollingUpdate.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable'));
      out.push(...validateIntOrPercent(us.rollingUpdate.maxSurge, 'spec.updateStrategy.rollingUpdate.maxSurge'));
      if (isZeroIntOrPercent(us.rollingUpdate.maxUnavailable) && isZeroIntOrPercent(us.rollingUpdate.maxSurge ?? 0))
        out.push(causes.invalid('spec.updateStrategy.rollingUpdate.maxUnavailable', us.rollingUpdate.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
    }
    out.push(...validateNonNegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
    out.push(...validateNonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
    return out;
  },
  table: table([
    { col: col('Desired', 'integer', 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).'), cell: (o) => o.status?.desiredNumberScheduled ?? 0 },
    { col: col('Current', 'integer', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.'), cell: (o) => o.status?.currentNumberScheduled ?? 0 },
    { col: col('Ready', 'integer', 'numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.'), cell: (o) => o.status?.numberReady ?? 0 },
    { col: col('Up-to-date', 'integer', 'The total number of nodes that are running updated daemon pod'), cell: (o) => o.status?.updatedNumberScheduled ?? 0 },
    { col: col('Available', 'integer', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)'), cell: (o) => o.status?.numberAvailable ?? 0 },
    { col: col('Node Selector', 'string', 'NodeSelector is a selector which must be true for the pod to fit on a node.'), cell: (o) => formatLabels(o.spec?.template?.spec?.nodeSelector) },
    ...templateColumns((o) => o.spec, 'A label query over pods that are managed by the daemon set.'),
  ]),
};

// --- statefulsets ---------------------------------------------------------------------------------

const STS_MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

export const statefulsets: ResourceInfo = {
  ...deployments,
  kind: 'StatefulSet',
  plural: 'statefulsets',
  singular: 'statefulset',
  shortNames: ['sts'],
  subresources: ['status', 'scale'],
  schemaName: 'io.k8s.api.apps.v1.StatefulSet',
  defaults(o: Any) {
    const spec = (o.spec ??= {});
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'podManagementPolicy', 'OrderedReady');
    const us = (spec.updateStrategy ??= {});
    setDefault(us, 'type', 'RollingUpdate');
    if (us.type === 'RollingUpdate') {
      us.rollingUpdate ??= {};
      setDefault(us.rollingUpdate, 'partition', 0);
    }
    setDefault(spec, 'revisionHistoryLimit', 10);
    spec.persistentVolumeClaimRetentionPolicy ??= {};
    setDefault(spec.persistentVolumeClaimRetentionPolicy, 'whenDeleted', 'Retain');
    setDefault(spec.persistentVolumeClaimRetentionPolicy, 'whenScaled', 'Retain');
    for (const t of Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : []) {
      if (!t || typeof t !== 'object') continue;
      t.apiVersion ??= 'v1';
      t.kind ??= 'PersistentVolumeClaim';
      t.spec ??= {};
      setDefault(t.spec, 'volumeMode', 'Filesystem');
      t.status ??= {};
      setDefault(t.status, 'phase', 'Pending');
    }
    defaultPodTemplate(spec.template);
  },
  validate(o: Any, old?: Any) {
    const out = validateObjectMeta(o.metadata, workloadNameCheck);
    const spec = o.spec ?? {};
    out.push(...validateNonNegative(spec.replicas, 'spec.replicas'));
    out.push(...validateSelectorAndTemplate(o, old, 'statefulset'));
    out.push(...validatePodTemplate(spec.template, 'spec.template', { restartPolicies: ['Always'] }));
    out.push(...oneOf(spec.podManagementPolicy, ['OrderedReady', 'Parallel'], 'spec.podManagementPolicy', true));
    out.push(...oneOf(spec.updateStrategy?.type, ['OnDelete', 'RollingUpdate'], 'spec.updateStrategy.type', true));
    out.push(...validateNonNegative(spec.updateStrategy?.rollingUpdate?.partition, 'spec.updateStrategy.rollingUpdate.partition'));
    out.push(...validateNonNegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
    if (old) {
      const a = clone(spec);
      const b = clone(old.spec ?? {});
      for (const k of STS_MUTABLE) {
        delete a[k];
        delete b[k];
      }
      delete a.selector;
      delete b.selector;
      if (!deepEqual(a, b))
        out.push(
          causes.forbidden(
            'spec',
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
          ),
        );
    }
    return out;
  },
  table: table([
    { col: col('Ready', 'string', 'Number of the pod with ready state'), cell: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}` },
    ...templateColumns((o) => o.spec),
  ]),
};

// --- jobs -----------------------------------------------------------------------------------------

/** SetDefaults_Job plus the job registry's generated selector/labels (needs metadata.uid). */
export function defaultJobSpec(spec: Any, meta: Any | undefined, topLevel: boolean): void {
  if (!spec || typeof spec !== 'object') return;
  if (topLevel) {
    if (spec.completions === undefined && spec.parallelism === undefined) {
      spec.completions = 1;
      spec.parallelism = 1;
    }
    setDefault(spec, 'parallelism', 1);
    setDefault(spec, 'backoffLimit', spec.backoffLimitPerIndex !== undefined && spec.backoffLimitPerIndex !== null ? 2147483647 : 6);
    setDefault(spec, 'completionMode', 'NonIndexed');
    setDefault(spec, 'suspend', false);
    setDefault(spec, 'podReplacementPolicy', spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed');
    const uid = meta?.uid;
    if (uid && spec.manualSelector !== true) {
      const name = meta.name ?? '';
      const gen = { 'batch.kubernetes.io/controller-uid': uid };
      if (!spec.selector) spec.selector = { matchLabels: gen };
      spec.template ??= {};
      spec.template.metadata ??= {};
      const labels = (spec.template.metadata.labels ??= {});
      setDefault(labels, 'batch.kubernetes.io/controller-uid', uid);
      setDefault(labels, 'batch.kubernetes.io/job-name', name);
      setDefault(labels, 'controller-uid', uid);
      setDefault(labels, 'job-name', name);
    }
  }
  defaultPodTemplate(spec.template);
}

function validateJobSpec(spec: Any, field: string, old: Any | undefined, topLevel: boolean): FieldCause[] {
  const out: FieldCause[] = [];
  if (!spec || typeof spec !== 'object') return [causes.required(field)];
  out.push(...validateNonNegative(spec.parallelism, `${field}.parallelism`));
  out.push(...validateNonNegative(spec.completions, `${field}.completions`));
  out.push(...validateNonNegative(spec.backoffLimit, `${field}.backoffLimit`));
  out.push(...validateNonNegative(spec.ttlSecondsAfterFinished, `${field}.ttlSecondsAfterFinished`));
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null && !(spec.activeDeadlineSeconds > 0))
    out.push(causes.invalid(`${field}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be greater than 0'));
  out.push(...oneOf(spec.completionMode, ['NonIndexed', 'Indexed'], `${field}.completionMode`));
  if (spec.completionMode === 'Indexed' && (spec.completions === undefined || spec.completions === null))
    out.push(causes.required(`${field}.completions`, 'when completion mode is Indexed'));
  if (topLevel) {
    if (!spec.selector) out.push(causes.required(`${field}.selector`));
    else {
      out.push(...validateLabelSelector(spec.selector, `${field}.selector`));
      if (!selectorMatches(spec.selector, spec.template?.metadata?.labels))
        out.push(causes.invalid(`${field}.template.metadata.labels`, spec.template?.metadata?.labels ?? {}, '`selector` does not match template `labels`'));
    }
  }
  const rp = spec.template?.spec?.restartPolicy;
  if (spec.template?.spec && rp !== 'OnFailure' && rp !== 'Never') {
    out.push(causes.notSupported(`${field}.template.spec.restartPolicy`, rp ?? '', ['OnFailure', 'Never']));
  }
  out.push(...validatePodTemplate(spec.template, `${field}.template`, { restartPolicies: ['Always', 'OnFailure', 'Never'] }));
  if (old && topLevel) {
    const os = old.spec ?? {};
    out.push(...immutable(spec.selector, os.selector, `${field}.selector`));
    out.push(...immutable(spec.completionMode, os.completionMode, `${field}.completionMode`));
    if (!(spec.completionMode === 'Indexed' && spec.completions === spec.parallelism)) out.push(...immutable(spec.completions, os.completions, `${field}.completions`));
    if (!deepEqual(spec.template, os.template) && !(os.suspend === true)) out.push(causes.invalid(`${field}.template`, spec.template, 'field is immutable'));
  }
  return out;
}

function jobStatus(o: Any): string {
  const conds: Any[] = o.status?.conditions ?? [];
  const has = (t: string) => conds.some((c) => c.type === t && c.status === 'True');
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (o.metadata?.deletionTimestamp) return 'Terminating';
  if (has('FailureTarget')) return 'FailureTarget';
  if (has('SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  if (has('Suspended')) return 'Suspended';
  return 'Running';
}

function jobCompletions(o: Any): string {
  const succeeded = o.status?.succeeded ?? 0;
  if (o.spec?.completions !== undefined && o.spec?.completions !== null) return `${succeeded}/${o.spec.completions}`;
  const p = o.spec?.parallelism ?? 0;
  return p > 1 ? `${succeeded}/1 of ${p}` : `${succeeded}/1`;
}

function jobDuration(o: Any): string {
  const start = o.status?.startTime;
  if (!start) return '';
  const end = o.status?.completionTime;
  if (!end) return since(start);
  return humanDuration(Date.parse(end) - Date.parse(start));
}

export const jobs: ResourceInfo = {
  group: 'batch',
  version: 'v1',
  kind: 'Job',
  plural: 'jobs',
  singular: 'job',
  namespaced: true,
  categories: ['all'],
  verbs: VERBS,
  subresources: ['status'],
  hasStatus: true,
  tracksGeneration: true,
  schemaName: 'io.k8s.api.batch.v1.Job',
  defaults(o: Any) {
    o.spec ??= {};
    defaultJobSpec(o.spec, o.metadata, true);
    // jobs copy their template's labels when they have none (SetDefaults_Job)
    const tl = o.spec.template?.metadata?.labels;
    if (o.metadata && (!o.metadata.labels || Object.keys(o.metadata.labels).length === 0) && tl) {
      const copy = { ...tl };
      for (const k of ['batch.kubernetes.io/controller-uid', 'controller-uid']) delete copy[k];
      if (Object.keys(copy).length) o.metadata.labels = copy;
    }
  },
  validate(o: Any, old?: Any) {
    const out = validateObjectMeta(o.metadata, isDNS1123Subdomain);
    out.push(...validateJobSpec(o.spec, 'spec', old, true));
    return out;
  },
  table: table([
    { col: col('Status', 'string', 'Status of the job.'), cell: jobStatus },
    { col: col('Completions', 'string', 'The completion status of the job.'), cell: jobCompletions },
    { col: col('Duration', 'string', 'Time required to complete the job.'), cell: jobDuration },
    ...templateColumns((o) => o.spec, 'A label query over pods that should match the pod count.'),
  ]),
  fieldSelectors: { 'status.successful': (o: Any) => String(o.status?.succeeded ?? 0) },
};

// --- cronjobs -------------------------------------------------------------------------------------

const CRON_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/** The 5-field standard cron syntax upstream's robfig/cron parser accepts (plus macros, @every). */
export function validateSchedule(schedule: string): string | undefined {
  const s = schedule.trim().replace(/^(CRON_)?TZ=\S+\s+/, '');
  if (CRON_MACROS.includes(s)) return undefined;
  if (s.startsWith('@every ')) return /^@every\s+(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s) ? undefined : `failed to parse duration ${s.slice(7)}`;
  const fields = s.split(/\s+/).filter(Boolean);
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`;
  const ranges: [number, number, string[]?][] = [
    [0, 59],
    [0, 23],
    [1, 31],
    [1, 12, ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']],
    [0, 7, ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']],
  ];
  for (let i = 0; i < 5; i++) {
    const [lo, hi, names] = ranges[i];
    for (const part of fields[i].split(',')) {
      const m = /^(\*|\?|[0-9a-zA-Z]+(?:-[0-9a-zA-Z]+)?)(?:\/(\d+))?$/.exec(part);
      if (!m) return `failed to parse int from ${part}`;
      if (m[1] === '*' || m[1] === '?') continue;
      for (const v of m[1].split('-')) {
        const n = /^\d+$/.test(v) ? Number(v) : names ? names.indexOf(v.toLowerCase()) + (i === 3 ? 1 : 0) : NaN;
        if (Number.isNaN(n) || (names && !/^\d+$/.test(v) && names.indexOf(v.toLowerCase()) < 0)) return `failed to parse int from ${v}`;
        if (n < lo || n > hi) return `end of range (${n}) above maximum (${hi}): ${part}`;
      }
    }
  }
  return undefined;
}

export const cronjobs: ResourceInfo = {
  ...jobs,
  kind: 'CronJob',
  plural: 'cronjobs',
  singular: 'cronjob',
  shortNames: ['cj'],
  schemaName: 'io.k8s.api.batch.v1.CronJob',
  fieldSelectors: undefined,
  defaults(o: Any) {
    const spec = (o.spec ??= {});
    setDefault(spec, 'concurrencyPolicy', 'Allow');
    setDefault(spec, 'suspend', false);
    setDefault(spec, 'successfulJobsHistoryLimit', 3);
    setDefault(spec, 'failedJobsHistoryLimit', 1);
    spec.jobTemplate ??= {};
    if (spec.jobTemplate.spec) defaultJobSpec(spec.jobTemplate.spec, undefined, false);
  },
  validate(o: Any, old?: Any) {
    const out = validateObjectMeta(o.metadata, isDNS1123Subdomain);
    if (typeof o.metadata?.name === 'string' && o.metadata.name.length > 52)
      out.push(causes.invalid('metadata.name', o.metadata.name, 'must be no more than 52 characters'));
    const spec = o.spec ?? {};
    if (!spec.schedule) out.push(causes.required('spec.schedule'));
    else {
      const err = validateSchedule(String(spec.schedule));
      if (err) out.push(causes.invalid('spec.schedule', spec.schedule, err));
    }
    if (spec.timeZone !== undefined && spec.timeZone !== null) {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: spec.timeZone });
      } catch {
        out.push(causes.invalid('spec.timeZone', spec.timeZone, 'unknown time zone ' + spec.timeZone));
      }
    }
    out.push(...oneOf(spec.concurrencyPolicy, ['Allow', 'Forbid', 'Replace'], 'spec.concurrencyPolicy', true));
    out.push(...validateNonNegative(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds'));
    out.push(...validateNonNegative(spec.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit'));
    out.push(...validateNonNegative(spec.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit'));
    out.push(...validateJobSpec(spec.jobTemplate?.spec, 'spec.jobTemplate.spec', undefined, false));
    void old;
    return out;
  },
  table: table([
    { col: col('Schedule', 'string', 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.'), cell: (o) => o.spec?.schedule ?? '' },
    { col: col('Timezone', 'string', 'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.'), cell: (o) => o.spec?.timeZone ?? '<none>' },
    { col: col('Suspend', 'boolean', 'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.'), cell: (o) => (o.spec?.suspend === undefined ? '<unset>' : o.spec.suspend ? 'True' : 'False') },
    { col: col('Active', 'integer', 'A list of pointers to currently running jobs.'), cell: (o) => (o.status?.active ?? []).length },
    { col: col('Last Schedule', 'string', 'Information when was the last time the job was successfully scheduled.'), cell: (o) => (o.status?.lastScheduleTime ? since(o.status.lastScheduleTime) : '<none>') },
    ...templateColumns((o) => o.spec?.jobTemplate?.spec, 'A label query over pods that should match the pod count.'),
  ]),
};

export const WORKLOAD_RESOURCES: ResourceInfo[] = [deployments, replicasets, daemonsets, statefulsets, jobs, cronjobs];
