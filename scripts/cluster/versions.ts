/**
 * Pinned versions of the Kubernetes pieces the chart is checked against (schemas in `make test`, a real control
 * plane in `make test-cluster`). The Kubernetes version must match scripts/cluster/kubestack/go.mod.
 */
export const KUBERNETES_VERSION = 'v1.36.3';
/** Karpenter's AWS provider module carries both the karpenter.sh and karpenter.k8s.aws CRDs. */
export const KARPENTER_MODULE = 'github.com/aws/karpenter-provider-aws';
export const KARPENTER_VERSION = 'v1.15.1';
/**
 * Karpenter's core with its kwok cloud provider, the controller `make test-cluster` runs. The AWS provider's
 * v1.15.1 builds on core v1.15.1, which the Go module proxy does not serve; v1.15.0 is the newest it does.
 */
export const KARPENTER_CORE_MODULE = 'sigs.k8s.io/karpenter';
export const KARPENTER_CORE_VERSION = 'v1.15.0';
/** KEDA's CRDs for the schemas, and its operator and metrics API server for `make test-cluster`. */
export const KEDA_MODULE = 'github.com/kedacore/keda/v2';
export const KEDA_VERSION = 'v2.21.0';
export const KUBECONFORM_MODULE = 'github.com/yannh/kubeconform/cmd/kubeconform';
export const KUBECONFORM_VERSION = 'v0.8.0';
export const HELM_VERSION = 'v3.21.4';
export const KUBE_SCORE_MODULE = 'github.com/zegl/kube-score/cmd/kube-score';
export const KUBE_SCORE_VERSION = 'v1.20.0';

/** CRD files inside those modules, relative to the module root. */
export const KARPENTER_CRDS = [
  'pkg/apis/crds/karpenter.sh_nodepools.yaml',
  'pkg/apis/crds/karpenter.sh_nodeclaims.yaml',
  'pkg/apis/crds/karpenter.sh_nodeoverlays.yaml',
  'pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml',
];
/** The same kinds from Karpenter's core, with its kwok provider's node class instead of the EC2 one. */
export const KARPENTER_CORE_CRDS = [
  'pkg/apis/crds/karpenter.sh_nodepools.yaml',
  'pkg/apis/crds/karpenter.sh_nodeclaims.yaml',
  'pkg/apis/crds/karpenter.sh_nodeoverlays.yaml',
  'kwok/apis/crds/karpenter.kwok.sh_kwoknodeclasses.yaml',
];
export const KEDA_CRDS = [
  'config/crd/bases/keda.sh_scaledobjects.yaml',
  'config/crd/bases/keda.sh_scaledjobs.yaml',
  'config/crd/bases/keda.sh_triggerauthentications.yaml',
  'config/crd/bases/keda.sh_clustertriggerauthentications.yaml',
];
/** What KEDA's operator watches besides: its CloudEvent sources. */
export const KEDA_OPERATOR_CRDS = [
  ...KEDA_CRDS,
  'config/crd/bases/eventing.keda.sh_cloudeventsources.yaml',
  'config/crd/bases/eventing.keda.sh_clustercloudeventsources.yaml',
];
