/**
 * Validation against the official Kubernetes OpenAPI schemas (kubernetes-models), shared by
 * the manifest tests and the fake API server so both hold objects to the same standard.
 */
import {
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
} from "kubernetes-models/admissionregistration.k8s.io/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { ClusterRole, ClusterRoleBinding, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { LimitRange, Namespace, ResourceQuota, Service, ServiceAccount } from "kubernetes-models/v1";

type ModelClass = new (data: never) => { validate(): void };

const MODELS: Record<string, ModelClass> = {
  "v1/Namespace": Namespace,
  "v1/ResourceQuota": ResourceQuota,
  "v1/LimitRange": LimitRange,
  "v1/ServiceAccount": ServiceAccount,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  // The provisioner's own deployment (deploy/*.yaml).
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "rbac.authorization.k8s.io/v1/ClusterRole": ClusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding,
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy": ValidatingAdmissionPolicy,
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding": ValidatingAdmissionPolicyBinding,
};

/** Throws with the schema errors; unknown kinds throw too, so nothing goes unchecked. */
export function validateAgainstSchema(obj: { apiVersion?: unknown; kind?: unknown }): void {
  const Model = MODELS[`${String(obj.apiVersion)}/${String(obj.kind)}`];
  if (!Model) throw new Error(`no schema for ${String(obj.apiVersion)} ${String(obj.kind)}`);
  new Model(obj as never).validate();
}
