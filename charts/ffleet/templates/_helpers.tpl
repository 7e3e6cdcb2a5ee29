{{/* vim: set filetype=mustache: */}}

{{/* Chart name, overridable with nameOverride. */}}
{{- define "ffleet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Fully qualified app name, the prefix of every resource. Truncated to leave room for suffixes such as
"-worker-<pool>" within Kubernetes' 63-character name limit.
*/}}
{{- define "ffleet.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 24 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 24 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 24 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ffleet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "gateway"). */}}
{{- define "ffleet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ffleet.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Common labels of one component: (dict "ctx" $ "component" "gateway"). */}}
{{- define "ffleet.labels" -}}
helm.sh/chart: {{ include "ffleet.chart" .ctx }}
{{ include "ffleet.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: ffleet
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one worker pool: (dict "ctx" $ "pool" "nvidia"). */}}
{{- define "ffleet.workerSelectorLabels" -}}
{{ include "ffleet.selectorLabels" (dict "ctx" .ctx "component" "worker") }}
ffleet.io/pool: {{ .pool }}
{{- end -}}

{{- define "ffleet.workerName" -}}
{{- printf "%s-worker-%s" (include "ffleet.fullname" .ctx) .pool | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ffleet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ffleet.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* An ffleet image: (dict "ctx" $ "repository" "ffleet/gateway" "tag" ""). */}}
{{- define "ffleet.image" -}}
{{- $tag := .tag | default .ctx.Values.image.tag | default .ctx.Chart.AppVersion -}}
{{- if .ctx.Values.image.registry -}}
{{- printf "%s/%s:%s" .ctx.Values.image.registry .repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
The pool registry file the gateway and workers read (FFLEET_POOLS_FILE): the enabled pools with the
registry fields only, in the format of services/core/src/pools/pools.yaml.
*/}}
{{- define "ffleet.poolRegistry" -}}
{{- $pools := dict -}}
{{- range $name, $pool := .Values.pools -}}
{{- if $pool.enabled -}}
{{- $_ := set $pools $name (pick $pool "family" "queue" "arch" "accelerator" "instanceTypes" "default" "concurrency" "encoders" "hwaccels" "maxQueued") -}}
{{- end -}}
{{- end -}}
{{- if not $pools -}}
{{- fail "ffleet: enable at least one pool (pools.<name>.enabled: true)" -}}
{{- end -}}
{{- toYaml (dict "pools" $pools) -}}
{{- end -}}

{{- define "ffleet.redisInternalName" -}}
{{- printf "%s-redis" (include "ffleet.fullname" .) -}}
{{- end -}}

{{/* Name of the Secret holding REDIS_URL in external mode. */}}
{{- define "ffleet.redisSecretName" -}}
{{- if .Values.redis.external.existingSecret -}}
{{- .Values.redis.external.existingSecret -}}
{{- else -}}
{{- printf "%s-redis-url" (include "ffleet.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/*
The BullMQ key prefix of every queue (FFLEET_QUEUE_PREFIX). Every Redis key of a queue derives from it through
ffleet.queueKey, so the prefix has exactly one definition.
*/}}
{{- define "ffleet.queuePrefix" -}}
{{- if and (include "ffleet.redisCluster" .) (not (regexMatch "\\{[^{}]+\\}" .Values.fleet.queuePrefix)) -}}
{{- fail (printf "ffleet: a Redis Cluster (redis.external.cluster) needs a hash tag in fleet.queuePrefix, e.g. {%s}, so each queue's keys share a slot" .Values.fleet.queuePrefix) -}}
{{- end -}}
{{- .Values.fleet.queuePrefix -}}
{{- end -}}

{{/* "true" when Redis is an external Redis Cluster, else empty. */}}
{{- define "ffleet.redisCluster" -}}
{{- if and (eq .Values.redis.mode "external") .Values.redis.external.cluster -}}true{{- end -}}
{{- end -}}

{{/* One BullMQ key of a queue, <prefix>:<queue>:<key>: (dict "ctx" $ "queue" "ffleet-intel" "key" "wait"). */}}
{{- define "ffleet.queueKey" -}}
{{- printf "%s:%s:%s" (include "ffleet.queuePrefix" .ctx) .queue .key -}}
{{- end -}}

{{/* host:port KEDA's redis scaler connects to. */}}
{{- define "ffleet.redisAddress" -}}
{{- if .Values.autoscaling.redisAddress -}}
{{- .Values.autoscaling.redisAddress -}}
{{- else if eq .Values.redis.mode "internal" -}}
{{- printf "%s.%s.svc:6379" (include "ffleet.redisInternalName" .) .Release.Namespace -}}
{{- else -}}
{{- fail "ffleet: autoscaling with an external Redis needs autoscaling.redisAddress (host:port)" -}}
{{- end -}}
{{- end -}}

{{/*
Name of the Secret holding the API tokens, or empty when the API is open (gateway.auth.open). Without
existingSecret the chart makes it: with gateway.auth.tokens and scopedTokens, or else with a random token.
*/}}
{{- define "ffleet.apiTokensSecretName" -}}
{{- if .Values.gateway.auth.existingSecret -}}
{{- .Values.gateway.auth.existingSecret -}}
{{- else if not .Values.gateway.auth.open -}}
{{- printf "%s-api-tokens" (include "ffleet.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* "true" when the chart makes the API token itself: no existing Secret, no tokens given, API not open. */}}
{{- define "ffleet.generatedApiToken" -}}
{{- $auth := .Values.gateway.auth -}}
{{- if not (or $auth.open $auth.existingSecret $auth.tokens $auth.scopedTokens) -}}true{{- end -}}
{{- end -}}

{{/* Whether the gateway reads a tokens file (named tokens scoped to prefixes) from the tokens Secret. */}}
{{- define "ffleet.apiTokensFile" -}}
{{- $auth := .Values.gateway.auth -}}
{{- if or (and $auth.existingSecret $auth.existingSecretHasTokensFile) (and (not $auth.existingSecret) (not $auth.open) $auth.scopedTokens) -}}true{{- end -}}
{{- end -}}

{{/* Environment shared by the gateway and workers. */}}
{{- define "ffleet.sharedEnv" -}}
{{- if and (not .Values.fleet.allowedBuckets) (not .Values.fleet.allowAnyBucket) -}}
{{- fail "ffleet: fleet.allowedBuckets is empty: list the buckets jobs may read and write (fleet.allowedBuckets: [my-media]), or set fleet.allowAnyBucket: true to let jobs use every bucket the IAM role reaches" -}}
{{- end -}}
# Where the pod runs, for trace resource attributes (with the node's labels when rbac.readNodes is on).
- name: NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- if eq .Values.redis.mode "internal" }}
- name: REDIS_URL
  value: {{ printf "redis://%s:6379" (include "ffleet.redisInternalName" .) | quote }}
{{- else }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "ffleet.redisSecretName" . }}
      key: {{ .Values.redis.external.secretKey }}
{{- end }}
- name: FFLEET_POOLS_FILE
  value: /etc/ffleet/pools.yaml
- name: FFLEET_QUEUE_PREFIX
  value: {{ include "ffleet.queuePrefix" . | quote }}
{{- if include "ffleet.redisCluster" . }}
- name: FFLEET_REDIS_CLUSTER
  value: "true"
{{- end }}
- name: FFLEET_ALLOWED_BUCKETS
  value: {{ join "," .Values.fleet.allowedBuckets | quote }}
- name: AWS_REGION
  value: {{ .Values.fleet.s3.region | quote }}
{{- with .Values.fleet.metricsBucket }}
- name: FFLEET_METRICS_BUCKET
  value: {{ . | quote }}
{{- end }}
- name: FFLEET_QUALITY_DEFAULT
  value: {{ .Values.fleet.qualityDefault | toString | quote }}
- name: FFLEET_QUALITY_MODE
  value: {{ .Values.fleet.qualityMode | quote }}
- name: FFLEET_QUALITY_SUBSAMPLE
  value: {{ .Values.fleet.qualitySubsample | toString | quote }}
{{- with .Values.fleet.s3.endpoint }}
- name: S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: FFLEET_WEBHOOK_ATTEMPTS
  value: {{ .Values.fleet.webhooks.attempts | toString | quote }}
- name: FFLEET_WEBHOOK_BACKOFF_MS
  value: {{ .Values.fleet.webhooks.backoffMs | toString | quote }}
- name: S3_FORCE_PATH_STYLE
  value: {{ .Values.fleet.s3.forcePathStyle | toString | quote }}
{{- with .Values.telemetry.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with .Values.telemetry.resourceAttributes }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ . | quote }}
{{- end }}
{{- with .Values.fleet.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Size of the /tmp emptyDir of the gateway and workers (also counted in their ephemeral-storage requests). */}}
{{- define "ffleet.tmpSizeLimit" -}}1Gi{{- end -}}

{{/* A quantity with a binary suffix (Ki, Mi, Gi, Ti; the schema allows no other for sizes) in whole MiB. */}}
{{- define "ffleet.toMiB" -}}
{{- $q := toString . -}}
{{- $n := regexReplaceAll "[A-Za-z]+$" $q "" | int64 -}}
{{- $unit := regexFind "[A-Za-z]+$" $q -}}
{{- if eq $unit "Ti" -}}{{ mul $n 1048576 }}
{{- else if eq $unit "Gi" -}}{{ mul $n 1024 }}
{{- else if eq $unit "Mi" -}}{{ $n }}
{{- else if eq $unit "Ki" -}}{{ div (add $n 1023) 1024 }}
{{- else -}}{{ fail (printf "ffleet: %q is not a size such as 512Mi or 20Gi" $q) }}
{{- end -}}
{{- end -}}

{{/*
Egress of pods that talk to the outside world (S3, webhook URLs, Redis, OTLP, DNS): open, except the instance
metadata and ECS/EKS Pod Identity credential addresses, so neither a job nor a webhook URL can reach the node's
credentials.
*/}}
{{- define "ffleet.egressExceptMetadata" -}}
- to:
    - ipBlock:
        cidr: 0.0.0.0/0
        except:
          - 169.254.169.254/32
          - 169.254.170.2/32
    - ipBlock:
        cidr: ::/0
        except:
          - fd00:ec2::254/128
{{- end -}}

{{/* Volumes and mounts every ffleet container needs with a read-only root filesystem. */}}
{{- define "ffleet.poolsVolume" -}}
- name: pools
  configMap:
    name: {{ include "ffleet.fullname" . }}-pools
- name: tmp
  emptyDir:
    sizeLimit: {{ include "ffleet.tmpSizeLimit" . }}
{{- end -}}

{{- define "ffleet.poolsVolumeMounts" -}}
- name: pools
  mountPath: /etc/ffleet
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* A pool's ffmpegLimits as the worker's variables; keys left out keep the worker's defaults. */}}
{{- define "ffleet.ffmpegLimitsEnv" -}}
{{- $variables := dict "memoryMB" "FFLEET_FFMPEG_MEMORY_MB" "maxAllocMB" "FFLEET_FFMPEG_MAX_ALLOC_MB" "threads" "FFLEET_FFMPEG_THREADS" "maxOutputPixels" "FFLEET_MAX_OUTPUT_PIXELS" "maxInputSeconds" "FFLEET_MAX_INPUT_SECONDS" -}}
{{- range $key := keys $variables | sortAlpha }}
{{- if and (hasKey $ $key) (not (kindIs "invalid" (get $ $key))) }}
- name: {{ get $variables $key }}
  {{- /* int64: a large number from a values file would otherwise print as 8.2944e+06. */}}
  value: {{ get $ $key | int64 | toString | quote }}
{{- end }}
{{- end }}
{{- end -}}
