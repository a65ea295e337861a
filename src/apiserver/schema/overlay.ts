/**
 * Kubernetes-specific schema knowledge the model metadata does not carry, from upstream's Go type tags
 * (k8s.io/api .../types.go: +patchMergeKey, +patchStrategy, +listType, +listMapKey, +mapType/+structType, and
 * resource.Quantity fields). Keys are "<definition short name>.<field>" with the definition's package implied
 * by the name (core unless stated). Drives strategic merge patch, server-side apply and the OpenAPI extensions.
 */

export interface FieldExt {
  mergeKey?: string;
  /** "merge", "retainKeys", "merge,retainKeys", "replace" */
  strategy?: string;
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: string[];
}

const C = 'io.k8s.api.core.v1.';
const APPS = 'io.k8s.api.apps.v1.';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

const byName = (name: string, mergeKey: string, keys: string[] = [mergeKey], strategy = 'merge'): FieldExt => ({
  mergeKey,
  strategy,
  listType: 'map',
  listMapKeys: keys,
});
const conditions = byName('', 'type');
const atomic: FieldExt = { listType: 'atomic' };

export const FIELD_EXTENSIONS: Record<string, FieldExt> = {
  // metadata
  [`${META}ObjectMeta.finalizers`]: { strategy: 'merge', listType: 'set' },
  [`${META}ObjectMeta.ownerReferences`]: byName('', 'uid'),
  [`${META}ObjectMeta.managedFields`]: atomic,
  [`${META}LabelSelector.matchExpressions`]: atomic,
  [`${META}LabelSelectorRequirement.values`]: atomic,
  // pod spec
  [`${C}PodSpec.volumes`]: byName('', 'name', ['name'], 'merge,retainKeys'),
  [`${C}PodSpec.initContainers`]: byName('', 'name'),
  [`${C}PodSpec.containers`]: byName('', 'name'),
  [`${C}PodSpec.ephemeralContainers`]: byName('', 'name'),
  [`${C}PodSpec.imagePullSecrets`]: byName('', 'name'),
  [`${C}PodSpec.hostAliases`]: byName('', 'ip'),
  [`${C}PodSpec.tolerations`]: atomic,
  [`${C}PodSpec.readinessGates`]: atomic,
  [`${C}PodSpec.topologySpreadConstraints`]: byName('', 'topologyKey', ['topologyKey', 'whenUnsatisfiable']),
  [`${C}PodSpec.schedulingGates`]: byName('', 'name'),
  [`${C}PodSpec.resourceClaims`]: byName('', 'name', ['name'], 'merge,retainKeys'),
  [`${C}Container.ports`]: byName('', 'containerPort', ['containerPort', 'protocol']),
  [`${C}Container.env`]: byName('', 'name'),
  [`${C}Container.envFrom`]: atomic,
  [`${C}Container.volumeMounts`]: byName('', 'mountPath'),
  [`${C}Container.volumeDevices`]: byName('', 'devicePath'),
  [`${C}Container.args`]: atomic,
  [`${C}Container.command`]: atomic,
  [`${C}Container.resizePolicy`]: atomic,
  [`${C}EphemeralContainer.ports`]: byName('', 'containerPort', ['containerPort', 'protocol']),
  [`${C}EphemeralContainer.env`]: byName('', 'name'),
  [`${C}EphemeralContainer.volumeMounts`]: byName('', 'mountPath'),
  [`${C}EphemeralContainer.volumeDevices`]: byName('', 'devicePath'),
  [`${C}PodStatus.conditions`]: conditions,
  [`${C}PodStatus.podIPs`]: byName('', 'ip'),
  [`${C}PodStatus.hostIPs`]: { mergeKey: 'ip', strategy: 'merge', listType: 'atomic' },
  [`${C}PodStatus.containerStatuses`]: atomic,
  [`${C}PodStatus.initContainerStatuses`]: atomic,
  [`${C}PodStatus.ephemeralContainerStatuses`]: atomic,
  [`${C}NodeSelectorTerm.matchExpressions`]: atomic,
  [`${C}NodeSelector.nodeSelectorTerms`]: atomic,
  // services / endpoints / nodes / namespaces / PVCs
  [`${C}ServiceSpec.ports`]: byName('', 'port', ['port', 'protocol']),
  [`${C}ServiceSpec.externalIPs`]: atomic,
  [`${C}ServiceSpec.clusterIPs`]: atomic,
  [`${C}ServiceSpec.ipFamilies`]: atomic,
  [`${C}ServiceStatus.conditions`]: conditions,
  [`${C}LoadBalancerStatus.ingress`]: atomic,
  [`${C}Endpoints.subsets`]: atomic,
  [`${C}NodeSpec.taints`]: atomic,
  [`${C}NodeSpec.podCIDRs`]: { strategy: 'merge', listType: 'set' },
  [`${C}NodeStatus.conditions`]: conditions,
  [`${C}NodeStatus.addresses`]: byName('', 'type'),
  [`${C}NodeStatus.images`]: atomic,
  [`${C}NodeStatus.volumesAttached`]: atomic,
  [`${C}NodeStatus.volumesInUse`]: atomic,
  [`${C}NamespaceStatus.conditions`]: conditions,
  [`${C}PersistentVolumeClaimStatus.conditions`]: conditions,
  [`${C}PersistentVolumeClaimSpec.accessModes`]: atomic,
  [`${C}ServiceAccount.secrets`]: { mergeKey: 'name', strategy: 'merge', listType: 'atomic' },
  // apps
  [`${APPS}DeploymentStatus.conditions`]: conditions,
  [`${APPS}ReplicaSetStatus.conditions`]: conditions,
  [`${APPS}DaemonSetStatus.conditions`]: conditions,
  [`${APPS}StatefulSetStatus.conditions`]: conditions,
  [`${APPS}StatefulSetSpec.volumeClaimTemplates`]: atomic,
  // batch, autoscaling, networking, discovery
  ['io.k8s.api.batch.v1.JobStatus.conditions']: { mergeKey: 'type', strategy: 'merge', listType: 'atomic' },
  ['io.k8s.api.batch.v1.CronJobStatus.active']: atomic,
  ['io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus.conditions']: conditions,
  ['io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec.metrics']: atomic,
  ['io.k8s.api.networking.v1.IngressSpec.rules']: atomic,
  ['io.k8s.api.networking.v1.IngressSpec.tls']: atomic,
  ['io.k8s.api.discovery.v1.EndpointSlice.endpoints']: atomic,
  ['io.k8s.api.discovery.v1.EndpointSlice.ports']: atomic,
};

/** Structs/maps owned as a whole by SSA (+structType=atomic / +mapType=atomic). */
export const ATOMIC_TYPES = new Set([
  `${META}LabelSelector`,
  `${C}NodeSelector`,
  `${C}ObjectReference`,
  `${C}LocalObjectReference`,
  `${C}TypedLocalObjectReference`,
  `${C}ConfigMapKeySelector`,
  `${C}SecretKeySelector`,
  `${C}ObjectFieldSelector`,
  `${C}ResourceFieldSelector`,
]);
export const ATOMIC_MAP_FIELDS = new Set([`${C}ServiceSpec.selector`, `${C}ReplicationControllerSpec.selector`]);

/** Fields whose values (or map values, for maps) are resource.Quantity. */
export const QUANTITY_FIELDS = new Set([
  `${C}ResourceRequirements.limits`,
  `${C}ResourceRequirements.requests`,
  `${C}VolumeResourceRequirements.limits`,
  `${C}VolumeResourceRequirements.requests`,
  `${C}EmptyDirVolumeSource.sizeLimit`,
  `${C}ResourceFieldSelector.divisor`,
  `${C}NodeStatus.capacity`,
  `${C}NodeStatus.allocatable`,
  `${C}PodSpec.overhead`,
  `${C}PersistentVolumeClaimStatus.capacity`,
  `${C}PersistentVolumeClaimStatus.allocatedResources`,
  `${C}ContainerStatus.allocatedResources`,
  'io.k8s.api.autoscaling.v2.MetricTarget.averageValue',
  'io.k8s.api.autoscaling.v2.MetricTarget.value',
  'io.k8s.api.autoscaling.v2.MetricValueStatus.averageValue',
  'io.k8s.api.autoscaling.v2.MetricValueStatus.value',
]);
