export { ServiceProxy, defaultTableName, type ServiceProxyOptions } from './proxy';
export { buildModel, type ServicePort } from './model';
export { renderRuleset } from './nftables';
export { lookupClusterName, podSearchDomains, CLUSTER_DOMAIN } from './dns';
export { sweepStaleTables, deleteTable, listTable } from './nft';
