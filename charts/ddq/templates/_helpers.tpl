{{/* Chart name. */}}
{{- define "ddq.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource name prefix: release name, plus the chart name unless it already contains it. */}}
{{- define "ddq.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ddq.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. Call with (dict "root" $ "component" "scheduler"). */}}
{{- define "ddq.labels" -}}
helm.sh/chart: {{ include "ddq.chart" .root }}
{{ include "ddq.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: ddq
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component. */}}
{{- define "ddq.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ddq.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ddq.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* ServiceAccount name of a component. Call with (dict "root" $ "component" "scheduler"). */}}
{{- define "ddq.serviceAccountName" -}}
{{- $values := index .root.Values .component -}}
{{- if $values.serviceAccount.create -}}
{{- default (printf "%s-%s" (include "ddq.fullname" .root) .component) $values.serviceAccount.name -}}
{{- else -}}
{{- default "default" $values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ddq.schedulerService" -}}
{{- printf "%s-scheduler" (include "ddq.fullname" .) -}}
{{- end -}}

{{- define "ddq.authSecret" -}}
{{- default (printf "%s-auth" (include "ddq.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{- define "ddq.redisName" -}}
{{- printf "%s-redis" (include "ddq.fullname" .) -}}
{{- end -}}

{{/* Checks on value combinations the schema cannot express. */}}
{{- define "ddq.validate" -}}
{{- if eq .Values.redis.mode "external" -}}
{{- $external := .Values.redis.external -}}
{{- if and (not $external.url) (not $external.sentinel.hosts) (not $external.cluster.nodes) -}}
{{- fail "redis.mode=external needs redis.external.url, redis.external.sentinel.hosts or redis.external.cluster.nodes (or set redis.mode=bundled, not for production)" -}}
{{- end -}}
{{- if and $external.cluster.nodes (or $external.url $external.sentinel.hosts) -}}
{{- fail "redis.external.cluster.nodes excludes redis.external.url and redis.external.sentinel.hosts: set one" -}}
{{- end -}}
{{- if and .Values.redis.external.sentinel.hosts (not .Values.redis.external.sentinel.masterName) -}}
{{- fail "redis.external.sentinel.hosts needs redis.external.sentinel.masterName" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) -}}
{{- fail "tls.enabled needs tls.secretName (a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt)" -}}
{{- end -}}
{{- if and .Values.tls.clientAuth (not .Values.tls.enabled) -}}
{{- fail "tls.clientAuth needs tls.enabled" -}}
{{- end -}}
{{- if and .Values.tls.clientAuth (not .Values.tls.clientSecretName) -}}
{{- fail "tls.clientAuth needs tls.clientSecretName (the client certificate of the operator and workers)" -}}
{{- end -}}
{{- if and .Values.worker.enabled .Values.operator.enabled (eq .Values.worker.handler "http") (not (has .Values.operator.httpTopic .Values.worker.topics)) -}}
{{- fail "worker.topics must include operator.httpTopic when the worker pool runs the http handler" -}}
{{- end -}}
{{- end -}}

{{/* Environment every component shares. Call with (dict "root" $ "values" .Values.scheduler). */}}
{{- define "ddq.commonEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: DDQ_HEALTH_LISTEN
  value: {{ printf "0.0.0.0:%d" (int .values.healthPort) | quote }}
- name: DDQ_METRICS_LISTEN
  value: {{ printf "0.0.0.0:%d" (int .values.metricsPort) | quote }}
- name: DDQ_LOG_LEVEL
  value: {{ .root.Values.logLevel | quote }}
- name: DDQ_LOG_FORMAT
  value: {{ .root.Values.logFormat | quote }}
{{- end -}}

{{/* Environment of a gRPC client of the scheduler (operator, worker). */}}
{{- define "ddq.clientEnv" -}}
- name: DDQ_SCHEDULER_ADDRESS
  value: {{ printf "%s:%d" (include "ddq.schedulerService" .) (int .Values.scheduler.grpcPort) | quote }}
{{- if .Values.auth.enabled }}
- name: DDQ_TOKEN_FILE
  value: /etc/ddq/token/token
{{- end }}
{{- if .Values.tls.enabled }}
- name: DDQ_TLS_CA_FILE
  value: /etc/ddq/tls/ca.crt
{{- if .Values.tls.clientAuth }}
- name: DDQ_TLS_CERT_FILE
  value: /etc/ddq/client-tls/tls.crt
- name: DDQ_TLS_KEY_FILE
  value: /etc/ddq/client-tls/tls.key
{{- end }}
{{- end }}
{{- end -}}

{{/* Volume mounts of a gRPC client. */}}
{{- define "ddq.clientVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.auth.enabled }}
- name: token
  mountPath: /etc/ddq/token
  readOnly: true
{{- end }}
{{- if .Values.tls.enabled }}
- name: tls
  mountPath: /etc/ddq/tls
  readOnly: true
{{- if .Values.tls.clientAuth }}
- name: client-tls
  mountPath: /etc/ddq/client-tls
  readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{/* Volumes of a gRPC client. Call with (dict "root" $ "tokenKey" "operator-token"). */}}
{{- define "ddq.clientVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if .root.Values.auth.enabled }}
- name: token
  secret:
    secretName: {{ include "ddq.authSecret" .root }}
    defaultMode: 0440
    items:
      - key: {{ .tokenKey }}
        path: token
{{- end }}
{{- if .root.Values.tls.enabled }}
- name: tls
  secret:
    secretName: {{ .root.Values.tls.secretName }}
    defaultMode: 0440
    items:
      - key: ca.crt
        path: ca.crt
{{- if .root.Values.tls.clientAuth }}
- name: client-tls
  secret:
    secretName: {{ .root.Values.tls.clientSecretName }}
    defaultMode: 0440
    items:
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
{{- end }}
{{- end }}
{{- end -}}

{{/* Probes on the plaintext gRPC health port. Call with the component's values. */}}
{{- define "ddq.probes" -}}
{{- /* Readiness asks service "" (NOT_SERVING while the component cannot serve: for a scheduler,
  while Redis is unreachable or not yet connected); start-up and liveness ask "liveness" (the
  process runs), so that waiting for Redis or a Redis outage never gets a pod restarted. */}}
startupProbe:
  grpc:
    port: {{ .healthPort }}
    service: liveness
  periodSeconds: 2
  failureThreshold: 60
readinessProbe:
  grpc:
    port: {{ .healthPort }}
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 2
livenessProbe:
  grpc:
    port: {{ .healthPort }}
    service: liveness
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
{{- end -}}

{{/* Pod scheduling fields. Call with (dict "root" $ "component" "scheduler" "values" .Values.scheduler). */}}
{{- define "ddq.podPlacement" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml .values.topologySpreadConstraints | nindent 2 }}
{{- else if gt (int .values.replicas) 1 }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "ddq.selectorLabels" . | nindent 8 }}
{{- end }}
{{- end -}}


{{/*
NODE_OPTIONS for a ddq container: `flag` set to `mib` (when above 0), unless the container's
extraEnv sets NODE_OPTIONS itself (then the user's entry stands alone).
Call with (dict "extraEnv" .Values.x.extraEnv "flag" "--max-old-space-size" "mib" .Values.x.heapLimitMiB).
*/}}
{{- define "ddq.nodeOptionsEnv" -}}
{{- $userNodeOptions := false }}
{{- range .extraEnv }}
{{- if eq .name "NODE_OPTIONS" }}{{ $userNodeOptions = true }}{{ end }}
{{- end }}
{{- if and (gt (int .mib) 0) (not $userNodeOptions) }}
- name: NODE_OPTIONS
  value: {{ printf "%s=%d" .flag (int .mib) | quote }}
{{- end }}
{{- end -}}
