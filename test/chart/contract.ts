import type { V1PolicyRule } from "@kubernetes/client-node";

/**
 * The Kubernetes permissions /work/contract.md gives each component, written out independently
 * of the chart so that a chart change that widens or narrows them fails the tests.
 */
export const schedulerLeaseRules: V1PolicyRule[] = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
];

export const operatorLeaseRules: V1PolicyRule[] = schedulerLeaseRules;

export const operatorRules: V1PolicyRule[] = [
  {
    apiGroups: ["ddq.io"],
    resources: ["delayedtasks", "crontasks"],
    verbs: ["get", "list", "watch", "update", "patch"],
  },
  { apiGroups: ["ddq.io"], resources: ["delayedtasks"], verbs: ["delete"] },
  {
    apiGroups: ["ddq.io"],
    resources: ["delayedtasks/status", "crontasks/status"],
    verbs: ["get", "update", "patch"],
  },
  {
    apiGroups: ["ddq.io"],
    resources: ["delayedtasks/finalizers", "crontasks/finalizers"],
    verbs: ["update"],
  },
  { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
  { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
];
